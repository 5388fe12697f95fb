//! Device passports (issue 14, in progress): manufacturer-attested identities of IoT devices,
//! in the manner of the Matter Distributed Compliance Ledger. This folder grows into the
//! module's records and instructions; so far it holds [`attestation`], the check of a
//! device's attestation certificate chain (DAC → PAI → PAA) that registration will run on
//! chain, and that a hub can run offline.

pub mod attestation;
