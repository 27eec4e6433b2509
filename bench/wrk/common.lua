-- Shared by the wrk scripts (loaded with dofile): the bearer key, a random thread per request,
-- and done(), which writes the run's figures as JSON to $BENCH_OUT for bench/bench.py.
--   BENCH_KEY      the API key (required)
--   BENCH_THREADS  threads t1..tN to pick from (default 1000)
--   BENCH_THREAD_PREFIX  the threads' names before the number (default t)
--   BENCH_OUT      where done() writes its JSON (required)
local key = os.getenv("BENCH_KEY") or error("BENCH_KEY is not set")
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1000")
local prefix = os.getenv("BENCH_THREAD_PREFIX") or "t"

wrk.headers["Authorization"] = "Bearer " .. key

-- Each wrk thread has its own Lua state; give each its own random sequence.
local next_id = 0
function setup(thread)
    next_id = next_id + 1
    thread:set("thread_no", next_id)
end

function seed_random()
    math.randomseed(os.time() * 1000 + (thread_no or 0))
end

function random_thread()
    return prefix .. math.random(1, nthreads)
end

function done(summary, latency, requests)
    local e = summary.errors
    local secs = summary.duration / 1e6
    local f = assert(io.open(assert(os.getenv("BENCH_OUT"), "BENCH_OUT is not set"), "w"))
    f:write(string.format(
        '{"tool":"wrk","rps":%.2f,"requests":%d,"duration_s":%.3f,"bytes":%d,' ..
        '"p50_ms":%.3f,"p99_ms":%.3f,"mean_ms":%.3f,"max_ms":%.3f,' ..
        '"errors":%d,"error_detail":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
        summary.requests / secs, summary.requests, secs, summary.bytes,
        latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, latency.mean / 1e3, latency.max / 1e3,
        e.connect + e.read + e.write + e.status + e.timeout,
        e.connect, e.read, e.write, e.status, e.timeout))
    f:close()
end
