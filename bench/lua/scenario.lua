-- One benchmark scenario for wrk, configured by environment variables:
--   BENCH_METHOD       GET (default) or POST
--   BENCH_PATHS        file of request paths, one per line, taken in turn
--   BENCH_BODY         file holding the request body (POST)
--   BENCH_CONTENT_TYPE the body's content type (default application/json)
--   BENCH_IDEMPOTENT   "1": every request carries a fresh Idempotency-Key
--   BENCH_DEGRADED     a text that marks a 200 answer as degraded (counted as "degraded")
-- A body's "%UNIQUE%" becomes a value no other request of any run has.
-- Headers (Authorization) come from wrk's -H. done() prints one JSON line.

local method = os.getenv("BENCH_METHOD") or "GET"
local content_type = os.getenv("BENCH_CONTENT_TYPE") or "application/json"
local idempotent = os.getenv("BENCH_IDEMPOTENT") == "1"
local degraded = os.getenv("BENCH_DEGRADED")
local paths, body = {}, nil
local counter, thread_tag = 0, ""
statuses = {}  -- global: done() reads it from every thread

local function read_lines(name)
  local lines = {}
  for line in io.lines(name) do
    if #line > 0 then lines[#lines + 1] = line end
  end
  return lines
end

local threads = {}
function setup(thread)
  thread:set("thread_index", #threads + 1)
  threads[#threads + 1] = thread
end

function init(args)
  paths = read_lines(os.getenv("BENCH_PATHS"))
  local body_file = os.getenv("BENCH_BODY")
  if body_file then
    local handle = assert(io.open(body_file, "rb"))
    body = handle:read("*a")
    handle:close()
  end
  -- Keys must differ across threads and across runs: seeded from the kernel.
  local urandom = assert(io.open("/dev/urandom", "rb"))
  local seed = 0
  for byte in urandom:read(6):gmatch(".") do seed = seed * 256 + byte:byte() end
  urandom:close()
  math.randomseed(seed)
  thread_tag = string.format("%08x-%04x-4%03x", math.random(0, 0x7fffffff),
    math.random(0, 0xffff), math.random(0, 0xfff))
end

function request()
  counter = counter + 1
  local path = paths[(counter - 1) % #paths + 1]
  -- A table given to wrk.format replaces wrk.headers (Host, -H): start from a copy.
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  if body then headers["Content-Type"] = content_type end
  local unique = string.format("%s-8%03x-%012x", thread_tag, math.random(0, 0xfff), counter)
  if idempotent then headers["Idempotency-Key"] = unique end
  -- The run's random tag and the request's counter: never the same twice.
  local this_body = body and body:gsub("%%UNIQUE%%", thread_tag:sub(1, 8) .. string.format("%08x", counter))
  return wrk.format(method, path, headers, this_body)
end

function response(status, headers, body)
  if degraded and status == 200 and body and body:find(degraded, 1, true) then
    status = "degraded"
  end
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local by_status = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for status, count in pairs(counts) do
      by_status[tostring(status)] = (by_status[tostring(status)] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(by_status) do
    parts[#parts + 1] = string.format('"%s":%d', status, count)
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"timeouts":%d,"non_2xx":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean, errors.connect, errors.read,
    errors.write, errors.timeout, errors.status, table.concat(parts, ",")))
end
