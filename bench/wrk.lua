-- The bench's script for wrk: sends the requests of a file in turn, round and round, and prints
-- its figures as one JSON line when done.
--
--   wrk -t1 -c8 -d10s -s bench/wrk.lua http://127.0.0.1:PORT -- REQUESTS_FILE
--
-- The file has one request a line: the method, the path, then any headers ("Name: value"),
-- separated by tabs (bench/generators.py writes it).

local prepared = {}
local count = 0
local index = 0

function init(args)
   local file = assert(io.open(args[1], "r"))
   for line in file:lines() do
      local fields = {}
      for field in string.gmatch(line, "[^\t]+") do
         fields[#fields + 1] = field
      end
      local headers = {}
      for i = 3, #fields do
         local name, value = string.match(fields[i], "^([^:]+):%s*(.*)$")
         headers[name] = value
      end
      count = count + 1
      prepared[count] = wrk.format(fields[1], fields[2], headers)
   end
   file:close()
   assert(count > 0, "no requests in " .. args[1])
end

function request()
   index = index % count + 1
   return prepared[index]
end

function done(summary, latency, _)
   local errors = summary.errors
   io.write(string.format(
      'BENCH-RESULT {"requests": %d, "duration_us": %d, "p50_us": %.1f, "p99_us": %.1f, '
         .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      errors.connect, errors.read, errors.write, errors.status, errors.timeout
   ))
end
