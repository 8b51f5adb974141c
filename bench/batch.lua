-- wrk script: POST the body in $ZS_BODY (a batch file) to the URL, with $ZS_CTYPE and,
-- when set, $ZS_CODING as Content-Encoding.
local f = assert(io.open(os.getenv("ZS_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("ZS_CTYPE") or "application/x-ndjson"
local coding = os.getenv("ZS_CODING")
if coding and coding ~= "" then
  wrk.headers["Content-Encoding"] = coding
end
