"""Interop helper for crates/client/tests/sdjwt_interop.rs: the SD-JWT reference implementation
(sd-jwt on PyPI) issues and presents credentials for Civitas to verify, and verifies Civitas's.

  issue:    stdin {"aud", "nonce"}; stdout {"issuer_jwk", "presentation"}
  issue_to: stdin {"holder_jwk"} (public); stdout {"issuer_jwk", "issuance"} bound to that key
  present:  stdin {"issuance", "holder_jwk" (private), "disclose", "aud", "nonce"}; stdout {"presentation"}
  verify:   stdin {"presentation", "issuer_jwk", "aud", "nonce"}; stdout the verified claims
"""
import json
import sys
import time

from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier


def permit_claims():
    """A residence permit's claims; the names selectively disclosable."""
    now = int(time.time())
    return {
        "iss": "did:civitas:1111111111111111111111111111111111111111",
        "vct": "https://civitas.example/vct/residence-permit",
        "iat": now,
        "exp": now + 3600,
        SDObj("given_name"): "Li",
        SDObj("family_name"): "Wei",
    }


def issue(request):
    issuer_key = JWK.generate(kty="EC", crv="P-256")
    holder_key = JWK.generate(kty="EC", crv="P-256")
    claims = {
        **permit_claims(),
        "address": {"city": "Civitas", SDObj("street"): "1 River Road"},
        "nationalities": [SDObj("DE"), "FR", SDObj("CN")],
    }
    issuer = SDJWTIssuer(
        claims, issuer_key, holder_key, add_decoy_claims=True, extra_header_parameters={"typ": "dc+sd-jwt"}
    )
    holder = SDJWTHolder(issuer.sd_jwt_issuance)
    disclose = {"given_name": True, "address": {"street": True}, "nationalities": [True, None, False]}
    holder.create_presentation(disclose, request["nonce"], request["aud"], holder_key, "ES256")
    return {"issuer_jwk": issuer_key.export_public(as_dict=True), "presentation": holder.sd_jwt_presentation}


def issue_to(request):
    issuer_key = JWK.generate(kty="EC", crv="P-256")
    holder_key = JWK.from_json(json.dumps(request["holder_jwk"]))
    issuer = SDJWTIssuer(permit_claims(), issuer_key, holder_key, extra_header_parameters={"typ": "dc+sd-jwt"})
    return {"issuer_jwk": issuer_key.export_public(as_dict=True), "issuance": issuer.sd_jwt_issuance}


def present(request):
    holder_key = JWK.from_json(json.dumps(request["holder_jwk"]))
    holder = SDJWTHolder(request["issuance"])
    holder.create_presentation(request["disclose"], request["nonce"], request["aud"], holder_key, "ES256")
    return {"presentation": holder.sd_jwt_presentation}


def verify(request):
    issuer_jwk = JWK.from_json(json.dumps(request["issuer_jwk"]))
    verifier = SDJWTVerifier(request["presentation"], lambda iss, header: issuer_jwk, request["aud"], request["nonce"])
    return verifier.get_verified_payload()


if __name__ == "__main__":
    mode = sys.argv[1]
    request = json.load(sys.stdin)
    modes = {"issue": issue, "issue_to": issue_to, "present": present, "verify": verify}
    print(json.dumps(modes[mode](request)))
