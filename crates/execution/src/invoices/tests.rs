use civitas_types::InvoiceInstruction;
use civitas_types::invoice::{InvoiceKind, InvoiceStatus, LineItem, Payment, TOTALS_KEY};
use civitas_types::{Hash, Instruction};

use super::{Party, query};
use crate::tests::{Harness, did, failed_code, harness, tx};

const TAX: u8 = 13;
const PROVIDER: u8 = 14;
const METRO: u8 = 15;
const EMPLOYER: u8 = 16;
const OTHER_EMPLOYER: u8 = 17;
const PASSENGER: u8 = 2;

fn register_metro(h: &mut Harness) {
    let i = Instruction::Invoices(InvoiceInstruction::RegisterMerchant {
        merchant: did(METRO),
        taxpayer_id: "91310000METRO01".into(),
        address: civitas_types::invoice::PostalAddress::demo(),
        by: did(TAX),
    });
    assert_eq!(failed_code(&h.run(tx(h, TAX, vec![i]))), None);
}

fn fare(id: &str, amount: u128) -> Instruction {
    Instruction::Invoices(InvoiceInstruction::RecordPayment {
        payment: Payment {
            id: id.into(),
            payee: did(METRO),
            amount,
            currency: "CNY".into(),
            paid_at_ms: 1_000,
            channel: "fare-gate".into(),
            payer_commitment: Hash::digest(b"card 6222 0000 and a salt the passenger keeps"),
        },
        by: did(PROVIDER),
    })
}

/// A trip of `amount` minor units, 9% tax included: one line whose net and tax add up to it.
fn trip_items(amount: u128) -> Vec<LineItem> {
    // net * 1.09 rounded = amount: search down from amount / 1.09.
    let net = (0..=amount).rev().find(|n| n + (n * 900 + 5_000) / 10_000 == amount).expect("reachable");
    vec![LineItem { description: "Metro fare".into(), quantity: 1, unit_price: net, tax_rate_bp: 900 }]
}

fn issue(payment_id: &str, items: Vec<LineItem>, by: u8) -> Instruction {
    Instruction::Invoices(InvoiceInstruction::IssueInvoice {
        payment_id: payment_id.into(),
        buyer_name: "Individual".into(),
        buyer_taxpayer_id: String::new(),
        buyer: Some(did(PASSENGER)),
        items,
        by: did(by),
    })
}

fn status(h: &Harness, number: u64) -> InvoiceStatus {
    query::invoice(&h.store, number).expect("read").expect("invoice").status
}

#[test]
fn a_metro_fare_is_invoiced_once_reimbursed_once_and_the_tax_totals_match() {
    let mut h = harness();
    register_metro(&mut h);
    for (id, amount) in [("metro-1", 400), ("metro-2", 600), ("metro-3", 800)] {
        assert_eq!(failed_code(&h.run(tx(&h, PROVIDER, vec![fare(id, amount)]))), None);
    }
    // The passenger asks for an invoice for one trip; the metro operator issues it.
    assert_eq!(failed_code(&h.run(tx(&h, METRO, vec![issue("metro-2", trip_items(600), METRO)]))), None);
    let invoice = query::invoice(&h.store, 1).expect("read").expect("invoice 1");
    assert_eq!((invoice.content.total, invoice.content.net_total + invoice.content.tax_total), (600, 600));
    assert_eq!(invoice.hash, invoice.content.hash(), "the invoice carries its on-chain hash");
    assert_eq!(query::payment(&h.store, "metro-2").expect("read").expect("payment").invoice, Some(1));
    // One payment, one invoice.
    let again = h.run(tx(&h, METRO, vec![issue("metro-2", trip_items(600), METRO)]));
    assert_eq!(failed_code(&again), Some("already_invoiced"));
    // The employer reimburses it; a second employer's claim, and a second claim, fail.
    let submit =
        |employer| Instruction::Invoices(InvoiceInstruction::SubmitInvoice { number: 1, employer: did(employer) });
    assert_eq!(failed_code(&h.run(tx(&h, PASSENGER, vec![submit(EMPLOYER)]))), None);
    assert_eq!(failed_code(&h.run(tx(&h, PASSENGER, vec![submit(OTHER_EMPLOYER)]))), Some("already_claimed"));
    let wrong_employer =
        Instruction::Invoices(InvoiceInstruction::ReimburseInvoice { number: 1, by: did(OTHER_EMPLOYER) });
    assert_eq!(failed_code(&h.run(tx(&h, OTHER_EMPLOYER, vec![wrong_employer]))), Some("permission_denied"));
    let reimburse = Instruction::Invoices(InvoiceInstruction::ReimburseInvoice { number: 1, by: did(EMPLOYER) });
    assert_eq!(failed_code(&h.run(tx(&h, EMPLOYER, vec![reimburse.clone()]))), None);
    assert!(matches!(status(&h, 1), InvoiceStatus::Reimbursed { .. }));
    assert_eq!(failed_code(&h.run(tx(&h, EMPLOYER, vec![reimburse]))), Some("already_reimbursed"));
    assert_eq!(failed_code(&h.run(tx(&h, PASSENGER, vec![submit(OTHER_EMPLOYER)]))), Some("already_reimbursed"));
    // A red-letter reversal after reimbursement is refused.
    let reverse = |number| {
        Instruction::Invoices(InvoiceInstruction::ReverseInvoice { number, reason: "refund".into(), by: did(METRO) })
    };
    assert_eq!(failed_code(&h.run(tx(&h, METRO, vec![reverse(1)]))), Some("already_reimbursed"));
    // Another trip is invoiced and reversed before any claim: a credit note, and it cannot be
    // claimed afterwards.
    assert_eq!(failed_code(&h.run(tx(&h, METRO, vec![issue("metro-3", trip_items(800), METRO)]))), None);
    assert_eq!(failed_code(&h.run(tx(&h, METRO, vec![reverse(2)]))), None);
    assert_eq!(status(&h, 2), InvoiceStatus::Reversed { credit_note: 3, height: h.height() });
    let credit = query::invoice(&h.store, 3).expect("read").expect("credit note");
    assert_eq!(
        (credit.content.kind, credit.status, credit.content.total),
        (InvoiceKind::Credit { reverses: 2 }, InvoiceStatus::CreditNote, 800)
    );
    let claim = Instruction::Invoices(InvoiceInstruction::SubmitInvoice { number: 2, employer: did(EMPLOYER) });
    assert_eq!(failed_code(&h.run(tx(&h, PASSENGER, vec![claim]))), Some("invoice_closed"));
    // The tax authority's totals: two issued (1400), one reversed (800), one reimbursed (600),
    // the same for the chain, the merchant and the day.
    let expected = civitas_types::invoice::InvoiceTotals {
        issued_count: 2,
        issued_amount: 1400,
        reversed_count: 1,
        reversed_amount: 800,
        reimbursed_count: 1,
        reimbursed_amount: 600,
    };
    assert_eq!(query::totals_at(&h.store, TOTALS_KEY).expect("read"), expected);
    let merchant_key = civitas_types::invoice::merchant_totals_key(&did(METRO));
    assert_eq!(query::totals_at(&h.store, &merchant_key).expect("read"), expected);
    let (period, keys) = query::merchant_period(&h.store, &did(METRO), 0, 10).expect("read");
    assert_eq!((period, keys.len()), (expected, 11));
    // Lists: the seller's three (with the credit note), the buyer's three, the employer's one.
    let numbers = |party, who| -> Vec<u64> {
        query::list(&h.store, party, &did(who), 0, 10).expect("read").0.iter().map(|i| i.content.number).collect()
    };
    assert_eq!(numbers(Party::Seller, METRO), vec![1, 2, 3]);
    assert_eq!(numbers(Party::Buyer, PASSENGER), vec![1, 2, 3]);
    assert_eq!(numbers(Party::Employer, EMPLOYER), vec![1]);
    assert!(numbers(Party::Employer, OTHER_EMPLOYER).is_empty());
    // Every official act is in the audit trail.
    let (entries, _) = crate::audit::query::page(&h.store, None, 0, 20).expect("read");
    let acts: Vec<&str> = entries.iter().map(|(_, e)| e.instruction.as_str()).collect();
    assert_eq!(
        acts,
        vec![
            "register_merchant",
            "record_payment",
            "record_payment",
            "record_payment",
            "issue_invoice",
            "reimburse_invoice",
            "issue_invoice",
            "reverse_invoice"
        ]
    );
}

#[test]
fn bad_payments_and_invoices_fail_with_clear_codes_and_change_nothing() {
    let mut h = harness();
    // Payments to a merchant that is not registered are refused.
    assert_eq!(failed_code(&h.run(tx(&h, PROVIDER, vec![fare("early", 100)]))), Some("not_a_merchant"));
    register_metro(&mut h);
    // Registering it twice, or another merchant with its taxpayer id, or by a non-tax official.
    let twice = Instruction::Invoices(InvoiceInstruction::RegisterMerchant {
        merchant: did(METRO),
        taxpayer_id: "OTHER1".into(),
        address: civitas_types::invoice::PostalAddress::demo(),
        by: did(TAX),
    });
    assert_eq!(failed_code(&h.run(tx(&h, TAX, vec![twice]))), Some("already_registered"));
    let same_id = Instruction::Invoices(InvoiceInstruction::RegisterMerchant {
        merchant: did(EMPLOYER),
        taxpayer_id: "91310000METRO01".into(),
        address: civitas_types::invoice::PostalAddress::demo(),
        by: did(TAX),
    });
    assert_eq!(failed_code(&h.run(tx(&h, TAX, vec![same_id]))), Some("taxpayer_id_taken"));
    let bad_id = Instruction::Invoices(InvoiceInstruction::RegisterMerchant {
        merchant: did(EMPLOYER),
        taxpayer_id: "no spaces".into(),
        address: civitas_types::invoice::PostalAddress::demo(),
        by: did(TAX),
    });
    assert_eq!(failed_code(&h.run(tx(&h, TAX, vec![bad_id]))), Some("bad_field"));
    // An address is required, bounded and checked: a country is two uppercase letters.
    for change in [
        |a: &mut civitas_types::invoice::PostalAddress| a.country = "China".into(),
        |a: &mut civitas_types::invoice::PostalAddress| a.street = String::new(),
        |a: &mut civitas_types::invoice::PostalAddress| a.city = "x".repeat(65),
        |a: &mut civitas_types::invoice::PostalAddress| a.postal_code = "20012\n0".into(),
    ] {
        let mut address = civitas_types::invoice::PostalAddress::demo();
        change(&mut address);
        let bad_address = Instruction::Invoices(InvoiceInstruction::RegisterMerchant {
            merchant: did(EMPLOYER),
            taxpayer_id: "EMP1".into(),
            address,
            by: did(TAX),
        });
        let outcome = h.run(tx(&h, TAX, vec![bad_address]));
        assert_eq!(failed_code(&outcome), Some("bad_field"), "{outcome:?}");
    }
    let not_tax = Instruction::Invoices(InvoiceInstruction::RegisterMerchant {
        merchant: did(EMPLOYER),
        taxpayer_id: "EMP1".into(),
        address: civitas_types::invoice::PostalAddress::demo(),
        by: did(10),
    });
    assert_eq!(failed_code(&h.run(tx(&h, 10, vec![not_tax]))), Some("permission_denied"));
    assert!(query::merchant(&h.store, &did(EMPLOYER)).expect("read").is_none());
    // Malformed payments, and a duplicate.
    let mut zero = fare("zero", 0);
    assert_eq!(failed_code(&h.run(tx(&h, PROVIDER, vec![zero.clone()]))), Some("bad_field"));
    if let Instruction::Invoices(InvoiceInstruction::RecordPayment { payment, .. }) = &mut zero {
        payment.amount = 5;
        payment.currency = "yuan".into();
    }
    assert_eq!(failed_code(&h.run(tx(&h, PROVIDER, vec![zero]))), Some("bad_field"));
    assert_eq!(failed_code(&h.run(tx(&h, PROVIDER, vec![fare("with space", 5)]))), Some("bad_field"));
    assert_eq!(failed_code(&h.run(tx(&h, PROVIDER, vec![fare("metro-1", 600)]))), None);
    assert_eq!(failed_code(&h.run(tx(&h, PROVIDER, vec![fare("metro-1", 600)]))), Some("duplicate_payment"));
    // A merchant cannot record its own payments.
    let by_merchant = match fare("self-made", 600) {
        Instruction::Invoices(InvoiceInstruction::RecordPayment { payment, .. }) => {
            Instruction::Invoices(InvoiceInstruction::RecordPayment { payment, by: did(METRO) })
        }
        other => other,
    };
    assert_eq!(failed_code(&h.run(tx(&h, METRO, vec![by_merchant]))), Some("permission_denied"));
    // Invoices: unknown payment, wrong amount, wrong merchant, malformed items.
    let before = h.store.get_latest(&civitas_types::invoice::invoice_key(1)).expect("read");
    assert_eq!(
        failed_code(&h.run(tx(&h, METRO, vec![issue("metro-9", trip_items(600), METRO)]))),
        Some("unknown_payment")
    );
    assert_eq!(
        failed_code(&h.run(tx(
            &h,
            METRO,
            vec![issue(
                "metro-1",
                vec![LineItem { description: "Metro fare".into(), quantity: 1, unit_price: 551, tax_rate_bp: 900 }],
                METRO
            )]
        ))),
        Some("amount_mismatch")
    );
    // The employer, registered as a merchant too, cannot invoice the metro's payment.
    let employer_merchant = Instruction::Invoices(InvoiceInstruction::RegisterMerchant {
        merchant: did(EMPLOYER),
        taxpayer_id: "EMP1".into(),
        address: civitas_types::invoice::PostalAddress::demo(),
        by: did(TAX),
    });
    assert_eq!(failed_code(&h.run(tx(&h, TAX, vec![employer_merchant]))), None);
    assert_eq!(
        failed_code(&h.run(tx(&h, EMPLOYER, vec![issue("metro-1", trip_items(600), EMPLOYER)]))),
        Some("wrong_merchant")
    );
    // An unregistered organization cannot issue at all.
    assert_eq!(
        failed_code(&h.run(tx(&h, OTHER_EMPLOYER, vec![issue("metro-1", trip_items(600), OTHER_EMPLOYER)]))),
        Some("not_a_merchant")
    );
    let item = |quantity, tax_rate_bp, description: &str| LineItem {
        description: description.into(),
        quantity,
        unit_price: 550,
        tax_rate_bp,
    };
    for items in [
        vec![],
        vec![item(0, 900, "fare")],
        vec![item(1, 10_001, "fare")],
        vec![item(1, 900, "")],
        vec![item(1, 900, "a\u{0}b")],
    ] {
        assert_eq!(failed_code(&h.run(tx(&h, METRO, vec![issue("metro-1", items, METRO)]))), Some("bad_field"));
    }
    let overflow =
        vec![LineItem { description: "x".into(), quantity: u32::MAX, unit_price: u128::MAX, tax_rate_bp: 0 }];
    assert_eq!(failed_code(&h.run(tx(&h, METRO, vec![issue("metro-1", overflow, METRO)]))), Some("bad_field"));
    assert_eq!(h.store.get_latest(&civitas_types::invoice::invoice_key(1)).expect("read"), before, "nothing issued");
    assert_eq!(query::payment(&h.store, "metro-1").expect("read").expect("payment").invoice, None);
    // Only the buyer submits; only to an employer-like organization; unknown invoices.
    assert_eq!(failed_code(&h.run(tx(&h, METRO, vec![issue("metro-1", trip_items(600), METRO)]))), None);
    let submit =
        |employer| Instruction::Invoices(InvoiceInstruction::SubmitInvoice { number: 1, employer: did(employer) });
    assert_eq!(failed_code(&h.run(tx(&h, 3, vec![submit(EMPLOYER)]))), Some("not_the_buyer"));
    assert_eq!(failed_code(&h.run(tx(&h, PASSENGER, vec![submit(3)]))), Some("permission_denied"));
    let unknown = Instruction::Invoices(InvoiceInstruction::SubmitInvoice { number: 99, employer: did(EMPLOYER) });
    assert_eq!(failed_code(&h.run(tx(&h, PASSENGER, vec![unknown]))), Some("unknown_invoice"));
    assert_eq!(status(&h, 1), InvoiceStatus::Issued);
    // Reimbursing an invoice no one submitted; reversing another merchant's invoice.
    let early = Instruction::Invoices(InvoiceInstruction::ReimburseInvoice { number: 1, by: did(EMPLOYER) });
    assert_eq!(failed_code(&h.run(tx(&h, EMPLOYER, vec![early]))), Some("invoice_closed"));
    let not_theirs = Instruction::Invoices(InvoiceInstruction::ReverseInvoice {
        number: 1,
        reason: "refund".into(),
        by: did(EMPLOYER),
    });
    assert_eq!(failed_code(&h.run(tx(&h, EMPLOYER, vec![not_theirs]))), Some("wrong_merchant"));
    assert_eq!(status(&h, 1), InvoiceStatus::Issued);
}
