-- wrk: POST {"events":[{"type":"bench.event","data":{"n":1}}, ...]} (BENCH_BATCH events, default 1)
-- to /v1/threads/t<random>/events. No ids: the service generates one (a UUIDv7) per event.
dofile(assert(os.getenv("BENCH_WRK_DIR"), "BENCH_WRK_DIR is not set") .. "/common.lua")

local batch = tonumber(os.getenv("BENCH_BATCH") or "1")
local one = '{"type":"bench.event","data":{"n":1}}'
local items = {}
for i = 1, batch do items[i] = one end
local body = '{"events":[' .. table.concat(items, ",") .. ']}'
wrk.headers["Content-Type"] = "application/json"

function init(args)
    seed_random()
end

function request()
    return wrk.format("POST", "/v1/threads/" .. random_thread() .. "/events", nil, body)
end
