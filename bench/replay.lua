-- wrk script: replay pre-built requests from a file and report one JSON line.
--
--   wrk -t T -c C -d 10s -s bench/replay.lua http://127.0.0.1:PORT -- FILE STATUS T
--
-- FILE has one request per line, tab-separated: METHOD, PATH, TOKEN or "-",
-- CONTENT-TYPE or "-", optionally an IDEMPOTENCY-KEY, then BODY or "-". Thread k of T sends lines k, k+T, k+2T, ... in order,
-- so no two requests are the same line; after the last line it starts over and counts a
-- wrap (for bookings a wrap means duplicate slots, so the harness gives enough lines).
-- Every response whose status is not STATUS is counted as unexpected, by status.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads = args[1], tonumber(args[3])
  expected = tonumber(args[2])
  reqs = {}
  local line_no = 0
  for line in io.lines(file) do
    if line_no % nthreads == id then
      -- An optional sixth field (before the body) is an Idempotency-Key.
      local method, path, token, ctype, key, body =
        line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      if method == nil then
        method, path, token, ctype, body =
          line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
        key = "-"
      end
      local headers = {}
      if token ~= "-" then headers["Authorization"] = "Bearer " .. token end
      if ctype ~= "-" then headers["Content-Type"] = ctype end
      if key ~= "-" then headers["Idempotency-Key"] = key end
      if body == "-" then body = nil end
      reqs[#reqs + 1] = wrk.format(method, path, headers, body)
    end
    line_no = line_no + 1
  end
  index = 0
  wraps = 0
  good = 0
  bad = 0
  statuses = {}
end

function request()
  index = index + 1
  if index > #reqs then
    index = 1
    wraps = wraps + 1
  end
  return reqs[index]
end

function response(status, headers, body)
  if status == expected then
    good = good + 1
  else
    bad = bad + 1
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
end

function done(summary, latency, requests)
  -- done() runs in the setup environment: the threads' globals are read through get()
  local good_total, bad_total, wraps_total, by_status = 0, 0, 0, {}
  local expected_status = threads[1]:get("expected")
  for _, thread in ipairs(threads) do
    good_total = good_total + thread:get("good")
    bad_total = bad_total + thread:get("bad")
    wraps_total = wraps_total + thread:get("wraps")
    for key, n in pairs(thread:get("statuses")) do
      by_status[key] = (by_status[key] or 0) + n
    end
  end
  local parts = {}
  for key, n in pairs(by_status) do
    parts[#parts + 1] = string.format('"%s": %d', key, n)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_s": %.3f, "expected_status": %d, ' ..
    '"expected": %d, "unexpected": %d, "unexpected_by_status": {%s}, "wraps": %d, ' ..
    '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
    '"latency_ms": {"mean": %.3f, "p50": %.3f, "p90": %.3f, "p99": %.3f, "max": %.3f}}\n',
    summary.requests, summary.duration / 1e6, expected_status, good_total, bad_total,
    table.concat(parts, ", "), wraps_total, e.connect, e.read, e.write, e.timeout,
    latency.mean / 1e3, latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3))
end
