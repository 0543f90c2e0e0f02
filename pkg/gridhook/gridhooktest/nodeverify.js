// A platform's check of Grid webhooks in Node.js, written from Grid's
// documented rules (docs/webhooks.md, "Verifying X-Grid-Signature"): the header is
// {"v":"1","s":"<base64 DER>"} with v a string (a bare base64 header counts
// as version 1), and s is SHA256withECDSA over the raw body bytes, checked
// with crypto.verify against the pinned P-256 public key PEM.
//
//   node -e "$JS" verify   env PUB (PEM), HEADER, BODY (base64 of the raw
//                          body): prints true or false
//   node -e "$JS" serve    a platform endpoint on 127.0.0.1: prints
//                          {"port":N}, then one JSON line per webhook
//                          {"id","type","verified","duplicate"}; POST /key
//                          pins the PEM in its body; a webhook answers 200,
//                          401 (not verified) or 409 (an id seen before)
"use strict";
const crypto = require("crypto");
const http = require("http");

function signatureOf(header) {
  const raw = (header || "").trim();
  if (!raw) return null;
  let h;
  try {
    h = JSON.parse(raw);
  } catch {
    return raw;
  }
  if (h === null || typeof h !== "object" || typeof h.s !== "string") return null;
  if (h.v !== undefined && h.v !== "1") return null;
  return h.s;
}

function verified(rawBody, header, publicKeyPem) {
  const s = signatureOf(header);
  if (!s || !publicKeyPem) return false;
  try {
    return crypto.verify("sha256", rawBody, publicKeyPem, Buffer.from(s, "base64"));
  } catch {
    return false;
  }
}

const mode = process.argv[1];
if (mode === "verify") {
  const e = process.env;
  process.stdout.write(String(verified(Buffer.from(e.BODY || "", "base64"), e.HEADER, e.PUB)));
} else if (mode === "serve") {
  let key = "";
  const seen = new Set();
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      if (req.url === "/key") {
        key = body.toString("utf8");
        res.end();
        return;
      }
      const ok = verified(body, req.headers["x-grid-signature"], key);
      let env = {};
      try {
        env = JSON.parse(body.toString("utf8"));
      } catch {}
      const duplicate = ok && seen.has(env.id);
      if (ok) seen.add(env.id);
      process.stdout.write(JSON.stringify({ id: env.id, type: env.type, verified: ok, duplicate }) + "\n");
      res.statusCode = !ok ? 401 : duplicate ? 409 : 200;
      res.end();
    });
  });
  server.listen(0, "127.0.0.1", () => process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n"));
} else {
  process.stderr.write("usage: node -e \"$JS\" verify|serve\n");
  process.exit(2);
}
