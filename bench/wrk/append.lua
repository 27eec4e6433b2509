-- wrk: POST {"role":"user","content":"hello world"} to /v1/threads/t<random>/messages.
dofile(assert(os.getenv("BENCH_WRK_DIR"), "BENCH_WRK_DIR is not set") .. "/common.lua")

local body = '{"role":"user","content":"hello world"}'
wrk.headers["Content-Type"] = "application/json"

function init(args)
    seed_random()
end

function request()
    return wrk.format("POST", "/v1/threads/" .. random_thread() .. "/messages", nil, body)
end
