-- wrk script: POST one 57-byte station_one record (the original's example shape).
wrk.method = "POST"
wrk.body = '{"device_name": "sensor-001", "temp": 25, "humidity": 60}'
wrk.headers["Content-Type"] = "application/json"
-- ZS_KEY: an ingest key, sent as Authorization: Bearer (bench/tls_bench.sh).
local key = os.getenv("ZS_KEY")
if key ~= nil and key ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. key
end
