// End-user tokens for the tests: HS256 JWTs (and deliberately forged ones) built with
// node:crypto only, the way a tenant's backend mints them (docs/auth.md).
import crypto from "node:crypto";

const HMAC = { HS256: "sha256", HS384: "sha384", HS512: "sha512" };
const b64url = (s) => Buffer.from(s).toString("base64url");

/**
 * A compact JWT: base64url(header).base64url(claims).signature, where the signature is the
 * HMAC named by `header.alg` (HS256, HS384 or HS512) over the first two parts with `secret`,
 * and empty for any other alg ("none"). Claims set to `undefined` are left out.
 */
export function mintToken(secret, claims, header = { alg: "HS256", typ: "JWT" }) {
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const hash = HMAC[header.alg];
  const signature = hash ? crypto.createHmac(hash, secret).update(signingInput).digest("base64url") : "";
  return `${signingInput}.${signature}`;
}

/** Unix seconds now. */
export const nowS = () => Math.floor(Date.now() / 1000);
