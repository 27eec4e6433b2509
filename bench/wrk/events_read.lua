-- wrk: GET /v1/threads/ev<random 1..BENCH_EV_THREADS>/events?after_seq=<random 0..BENCH_EV_MAX_AFTER>&limit=N
-- (N: BENCH_EV_LIMIT): a page of N events from a random point of a long event log.
dofile(assert(os.getenv("BENCH_WRK_DIR"), "BENCH_WRK_DIR is not set") .. "/common.lua")

local threads = tonumber((assert(os.getenv("BENCH_EV_THREADS"), "BENCH_EV_THREADS is not set")))
local max_after = tonumber((assert(os.getenv("BENCH_EV_MAX_AFTER"), "BENCH_EV_MAX_AFTER is not set")))
local limit = tonumber((assert(os.getenv("BENCH_EV_LIMIT"), "BENCH_EV_LIMIT is not set")))

function init(args)
    seed_random()
end

function request()
    return wrk.format("GET", string.format("/v1/threads/ev%d/events?after_seq=%d&limit=%d",
        math.random(1, threads), math.random(0, max_after), limit))
end
