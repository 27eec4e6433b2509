-- wrk: GET $BENCH_PATH; a "{thread}" in it becomes t<random> on every request.
dofile(assert(os.getenv("BENCH_WRK_DIR"), "BENCH_WRK_DIR is not set") .. "/common.lua")

local path = assert(os.getenv("BENCH_PATH"), "BENCH_PATH is not set")
local per_thread = path:find("{thread}", 1, true) ~= nil
local fixed

function init(args)
    seed_random()
    if not per_thread then fixed = wrk.format("GET", path) end
end

function request()
    if fixed then return fixed end
    return wrk.format("GET", (path:gsub("{thread}", random_thread())))
end
