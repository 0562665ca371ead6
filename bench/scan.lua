-- wrk script for bench/mass_testing.py: person scans into the scanner API, each a new swab.
-- args: ids_file token round site prefix threads desks
-- Scan j goes to desk j % desks, which fills its tube with ten people before opening the next,
-- so requests in flight at once touch different tubes, as many desks do.

local next_thread = 0

function setup(thread)
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  ids = {}
  for line in io.lines(args[1]) do
    ids[#ids + 1] = line
  end
  token, round, site, prefix = args[2], args[3], args[4], args[5]
  threads, desks = tonumber(args[6]), tonumber(args[7])
  k = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Token " .. token
end

function request()
  local j = k * threads + tid
  k = k + 1
  local desk = j % desks
  local tube = desk + desks * math.floor(j / (desks * 10))
  local body = string.format(
    '{"round":"%s","site":"%s","barcode":"%s%08d","code":"%s"}',
    round, site, prefix, tube, ids[(j % #ids) + 1]
  )
  return wrk.format(nil, "/api/v1/testing/tubes/scan/", nil, body)
end

function done(summary, latency, requests)
  io.write(string.format("WRK_JSON {\"requests\": %d, \"seconds\": %.3f, \"errors_status\": %d, " ..
    "\"errors_socket\": %d, \"p50_ms\": %.1f, \"p90_ms\": %.1f, \"p99_ms\": %.1f, \"max_ms\": %.1f}\n",
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
