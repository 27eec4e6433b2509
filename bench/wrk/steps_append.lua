-- wrk: POST {"kind":"tool","name":"x"} to /v1/threads/rt<i>/runs/r<i>/steps, i random in 1..BENCH_THREADS:
-- a new top-level step (and its step.created event) in one of the running runs r1..rN, one per thread.
dofile(assert(os.getenv("BENCH_WRK_DIR"), "BENCH_WRK_DIR is not set") .. "/common.lua")

local nruns = tonumber(os.getenv("BENCH_THREADS") or "1000")
local body = '{"kind":"tool","name":"x"}'
wrk.headers["Content-Type"] = "application/json"

function init(args)
    seed_random()
end

function request()
    local i = math.random(1, nruns)
    return wrk.format("POST", "/v1/threads/rt" .. i .. "/runs/r" .. i .. "/steps", nil, body)
end
