-- wrk script: POST one 57-byte station_one record (the original's example shape).
wrk.method = "POST"
wrk.body = '{"device_name": "sensor-001", "temp": 25, "humidity": 60}'
wrk.headers["Content-Type"] = "application/json"
