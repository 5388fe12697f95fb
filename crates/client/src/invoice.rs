//! E-invoices on the wire: the JSON forms of payments, invoices and totals, the signed
//! requests that let the API show each party only its own invoices, and the UBL 2.1 export
//! with the EN 16931 core fields.

use std::collections::BTreeMap;

use civitas_types::Did;
use civitas_types::invoice::{Invoice, InvoiceKind, InvoiceStatus, InvoiceTotals, LineItem, Payment, PaymentRecord};

use crate::{ClientError, as_query, percent_encode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A recorded payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentRecordJson {
    /// The payment.
    pub payment: Payment,
    /// The provider that recorded it.
    pub provider: String,
    /// When.
    pub recorded_height: u64,
    /// Its invoice's number, if issued.
    pub invoice: Option<u64>,
}

impl PaymentRecordJson {
    /// The JSON form of a payment record.
    pub fn from_record(r: &PaymentRecord) -> PaymentRecordJson {
        PaymentRecordJson {
            payment: r.payment.clone(),
            provider: r.provider.to_string(),
            recorded_height: r.recorded_height,
            invoice: r.invoice,
        }
    }
}

/// An invoice as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvoiceJson {
    /// Its number.
    pub number: u64,
    /// `invoice` or `credit_note`.
    pub kind: String,
    /// For a credit note: the invoice it reverses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverses: Option<u64>,
    /// `issued`, `submitted`, `reimbursed`, `reversed` or `credit_note`.
    pub status: String,
    /// The employer it was submitted to or reimbursed by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employer: Option<String>,
    /// The credit note that reversed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_note: Option<u64>,
    /// The height of the last change of status (issuance if none).
    pub status_height: u64,
    /// The invoice's on-chain hash, hex.
    pub hash: String,
    /// The seller's DID.
    pub seller: String,
    /// The seller's taxpayer id.
    pub seller_taxpayer_id: String,
    /// The buyer's name.
    pub buyer_name: String,
    /// The buyer's taxpayer id, or empty.
    pub buyer_taxpayer_id: String,
    /// The buyer's DID, if on the chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer: Option<String>,
    /// The payment it is bound to.
    pub payment_id: String,
    /// The currency.
    pub currency: String,
    /// The lines.
    pub items: Vec<LineItem>,
    /// Net total, minor units.
    pub net_total: String,
    /// Tax total, minor units.
    pub tax_total: String,
    /// Net plus tax, minor units.
    pub total: String,
    /// Issued at this height.
    pub issued_height: u64,
    /// Issued at this block time (ms).
    pub issued_ms: u64,
    /// Why (credit notes).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

impl InvoiceJson {
    /// The JSON form of an invoice.
    pub fn from_invoice(i: &Invoice) -> InvoiceJson {
        let c = &i.content;
        let (employer, credit_note, status_height) = match i.status {
            InvoiceStatus::Issued | InvoiceStatus::CreditNote => (None, None, c.issued_height),
            InvoiceStatus::Submitted { employer, height } | InvoiceStatus::Reimbursed { employer, height } => {
                (Some(employer.to_string()), None, height)
            }
            InvoiceStatus::Reversed { credit_note, height } => (None, Some(credit_note), height),
        };
        let (kind, reverses) = match c.kind {
            InvoiceKind::Normal => ("invoice", None),
            InvoiceKind::Credit { reverses } => ("credit_note", Some(reverses)),
        };
        InvoiceJson {
            number: c.number,
            kind: kind.into(),
            reverses,
            status: i.status.name().into(),
            employer,
            credit_note,
            status_height,
            hash: i.hash.to_hex(),
            seller: c.seller.to_string(),
            seller_taxpayer_id: c.seller_taxpayer_id.clone(),
            buyer_name: c.buyer_name.clone(),
            buyer_taxpayer_id: c.buyer_taxpayer_id.clone(),
            buyer: c.buyer.map(|b| b.to_string()),
            payment_id: c.payment_id.clone(),
            currency: c.currency.clone(),
            items: c.items.clone(),
            net_total: c.net_total.to_string(),
            tax_total: c.tax_total.to_string(),
            total: c.total.to_string(),
            issued_height: c.issued_height,
            issued_ms: c.issued_ms,
            reason: c.reason.clone(),
        }
    }
}

/// A page of invoices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvoicePageJson {
    /// The invoices.
    pub invoices: Vec<InvoiceJson>,
    /// Where the next page starts, if there is one.
    pub next: Option<u64>,
}

/// Invoice totals: counts and amounts (minor units, tax included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InvoiceTotalsJson {
    /// The merchant, or absent for the whole chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant: Option<String>,
    /// The first day (UTC, days since the Unix epoch) counted, for a period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_day: Option<u64>,
    /// The last day counted, for a period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_day: Option<u64>,
    /// Invoices issued.
    pub issued_count: u64,
    /// Their amount.
    pub issued_amount: String,
    /// Invoices reversed.
    pub reversed_count: u64,
    /// Their amount.
    pub reversed_amount: String,
    /// Invoices reimbursed.
    pub reimbursed_count: u64,
    /// Their amount.
    pub reimbursed_amount: String,
}

impl InvoiceTotalsJson {
    /// The JSON form of totals.
    pub fn from_totals(t: &InvoiceTotals, merchant: Option<&Did>, period: Option<(u64, u64)>) -> InvoiceTotalsJson {
        InvoiceTotalsJson {
            merchant: merchant.map(ToString::to_string),
            from_day: period.map(|p| p.0),
            to_day: period.map(|p| p.1),
            issued_count: t.issued_count,
            issued_amount: t.issued_amount.to_string(),
            reversed_count: t.reversed_count,
            reversed_amount: t.reversed_amount.to_string(),
            reimbursed_count: t.reimbursed_count,
            reimbursed_amount: t.reimbursed_amount.to_string(),
        }
    }
}

/// The invoices module's reads: invoices, payments and totals are signed reads (each party
/// sees its own); a merchant's registration is public.
impl crate::Client {
    /// Invoice `number`, read as `key` (acting for organization `as_org`, if given); `None`
    /// if there is none.
    pub fn invoice(
        &self,
        key: &civitas_types::SecretKey,
        number: u64,
        as_org: Option<&Did>,
    ) -> Result<Option<InvoiceJson>, ClientError> {
        self.get_signed(key, &format!("/v1/invoices/{number}{}", as_query('?', as_org)))
    }

    /// A proof document of invoice `number`, read as `key`.
    pub fn prove_invoice(
        &self,
        key: &civitas_types::SecretKey,
        number: u64,
        as_org: Option<&Did>,
    ) -> Result<Option<crate::wire::ProofJson>, ClientError> {
        self.get_signed(key, &format!("/v1/invoices/{number}?prove=true{}", as_query('&', as_org)))
    }

    /// A page of invoices, read as `key`: `filter` is `seller=DID`, `buyer=DID`,
    /// `employer=DID` or empty (all, for the tax authority).
    pub fn invoices(
        &self,
        key: &civitas_types::SecretKey,
        filter: &str,
        as_org: Option<&Did>,
        from: u64,
        limit: u64,
    ) -> Result<InvoicePageJson, ClientError> {
        let sep = if filter.is_empty() { "" } else { "&" };
        let path = format!("/v1/invoices?{filter}{sep}from={from}&limit={limit}{}", as_query('&', as_org));
        self.get_signed(key, &path)?.ok_or_else(|| ClientError::Protocol { url: self.url(&path), why: "404".into() })
    }

    /// Invoice totals (the chain's, a merchant's, or a merchant's over a period of days), read
    /// as `key`; with `prove`, the proof document (as JSON) instead.
    pub fn invoice_totals(
        &self,
        key: &civitas_types::SecretKey,
        merchant: Option<&Did>,
        period: Option<(u64, u64)>,
        as_org: Option<&Did>,
        prove: bool,
    ) -> Result<serde_json::Value, ClientError> {
        let mut params = Vec::new();
        if let Some(m) = merchant {
            params.push(format!("merchant={m}"));
        }
        if let Some((f, t)) = period {
            params.push(format!("from_day={f}&to_day={t}"));
        }
        if let Some(a) = as_org {
            params.push(format!("as={a}"));
        }
        if prove {
            params.push("prove=true".into());
        }
        let path = format!("/v1/invoices/totals?{}", params.join("&"));
        self.get_signed(key, &path)?.ok_or_else(|| ClientError::Protocol { url: self.url(&path), why: "404".into() })
    }

    /// Payment `id`, read as `key` acting for `as_org`.
    pub fn payment(
        &self,
        key: &civitas_types::SecretKey,
        id: &str,
        as_org: Option<&Did>,
    ) -> Result<Option<PaymentRecordJson>, ClientError> {
        self.get_signed(key, &format!("/v1/payments/{}{}", percent_encode(id), as_query('?', as_org)))
    }

    /// Merchant `did`'s registration (public); `None` if it is not one.
    pub fn merchant(&self, did: &Did) -> Result<Option<crate::wire::MerchantJson>, ClientError> {
        self.get(&format!("/v1/merchants/{did}"))
    }
}

/// What the export needs that the chain keeps with the merchant, not the invoice: the seller's
/// registered name and postal address.
#[derive(Debug, Clone)]
pub struct UblParties {
    /// The seller's registered name.
    pub seller_name: String,
    /// The seller's postal address (BG-5).
    pub seller_address: civitas_types::invoice::PostalAddress,
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Minor units as a decimal amount with two places.
fn money(minor: u128) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// Basis points as a percentage, without trailing zeros.
fn percent(bp: u32) -> String {
    let s = format!("{}.{:02}", bp / 100, bp % 100);
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn tax_scheme(out: &mut String, indent: &str) {
    out.push_str(&format!("{indent}<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>\n"));
}

/// A party's VAT identifier (BT-31, BT-48): its taxpayer id with the ISO 3166-1 alpha-2
/// prefix of its country, as EN 16931 writes VAT identifiers (BR-CO-09). A Chinese unified
/// social credit code is the taxpayer's VAT registration number there, so `91310000…` in `CN`
/// is `CN91310000…` (see docs/invoices.md).
pub fn vat_identifier(taxpayer_id: &str, country: &str) -> String {
    if taxpayer_id.starts_with(country) { taxpayer_id.to_owned() } else { format!("{country}{taxpayer_id}") }
}

/// A party's postal address (BG-5 / BG-8), in UBL's element order; an empty element is left
/// out.
fn postal_address(out: &mut String, address: &civitas_types::invoice::PostalAddress) {
    out.push_str("      <cac:PostalAddress>\n");
    for (element, value) in
        [("StreetName", &address.street), ("CityName", &address.city), ("PostalZone", &address.postal_code)]
    {
        if !value.is_empty() {
            out.push_str(&format!("        <cbc:{element}>{}</cbc:{element}>\n", escape(value)));
        }
    }
    out.push_str(&format!(
        "        <cac:Country><cbc:IdentificationCode>{}</cbc:IdentificationCode></cac:Country>\n",
        escape(&address.country)
    ));
    out.push_str("      </cac:PostalAddress>\n");
}

fn party(out: &mut String, role: &str, name: &str, taxpayer_id: &str, address: &civitas_types::invoice::PostalAddress) {
    out.push_str(&format!("  <cac:{role}>\n    <cac:Party>\n"));
    postal_address(out, address);
    if !taxpayer_id.is_empty() {
        out.push_str("      <cac:PartyTaxScheme>\n");
        out.push_str(&format!(
            "        <cbc:CompanyID>{}</cbc:CompanyID>\n",
            escape(&vat_identifier(taxpayer_id, &address.country))
        ));
        tax_scheme(out, "        ");
        out.push_str("      </cac:PartyTaxScheme>\n");
    }
    out.push_str("      <cac:PartyLegalEntity>\n");
    out.push_str(&format!("        <cbc:RegistrationName>{}</cbc:RegistrationName>\n", escape(name)));
    out.push_str("      </cac:PartyLegalEntity>\n    </cac:Party>\n");
    out.push_str(&format!("  </cac:{role}>\n"));
}

/// The invoice as UBL 2.1 XML (an `Invoice`, or a `CreditNote` for a red-letter note) with
/// the EN 16931 core fields: specification identifier (BT-24), number (BT-1), issue date
/// (BT-2), type code (BT-3: 380 / 381), currency (BT-5), the preceding invoice of a credit
/// note (BT-25), seller and buyer names, postal addresses and VAT identifiers (BT-27, BG-5,
/// BT-31, BT-44, BG-8, BT-48; the chain records no buyer address, so the buyer's is its
/// country, the seller's: a domestic sale, the minimum BR-10 and BR-11 ask), payment
/// reference (BT-83), tax breakdown per rate (BT-116 to BT-119), document totals (BT-106,
/// BT-109, BT-112, BT-113 prepaid: all of it, the payment is recorded; BT-115 due: zero) and
/// lines (BT-126 to BT-152). The on-chain hash is a note (BT-22).
/// Amounts are minor units shown with two decimals.
pub fn ubl_xml(invoice: &Invoice, parties: &UblParties) -> String {
    let c = &invoice.content;
    let credit = matches!(c.kind, InvoiceKind::Credit { .. });
    let (root, namespace, type_element, type_code, line, quantity) = if credit {
        (
            "CreditNote",
            "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
            "CreditNoteTypeCode",
            381,
            "CreditNoteLine",
            "CreditedQuantity",
        )
    } else {
        (
            "Invoice",
            "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
            "InvoiceTypeCode",
            380,
            "InvoiceLine",
            "InvoicedQuantity",
        )
    };
    let currency = escape(&c.currency);
    let amount = |element: &str, minor: u128| {
        format!("<cbc:{element} currencyID=\"{currency}\">{}</cbc:{element}>", money(minor))
    };
    let date = crate::did::datetime(c.issued_ms);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<{root} xmlns=\"{namespace}\" xmlns:cac=\"urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2\" xmlns:cbc=\"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2\">\n"
    ));
    out.push_str("  <cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>\n");
    out.push_str(&format!("  <cbc:ID>{}</cbc:ID>\n", c.number));
    out.push_str(&format!("  <cbc:IssueDate>{}</cbc:IssueDate>\n", &date[..10]));
    out.push_str(&format!("  <cbc:{type_element}>{type_code}</cbc:{type_element}>\n"));
    out.push_str(&format!("  <cbc:Note>civitas invoice hash {}</cbc:Note>\n", invoice.hash.to_hex()));
    if !c.reason.is_empty() {
        out.push_str(&format!("  <cbc:Note>{}</cbc:Note>\n", escape(&c.reason)));
    }
    out.push_str(&format!("  <cbc:DocumentCurrencyCode>{currency}</cbc:DocumentCurrencyCode>\n"));
    if let InvoiceKind::Credit { reverses } = c.kind {
        out.push_str(&format!(
            "  <cac:BillingReference>\n    <cac:InvoiceDocumentReference><cbc:ID>{reverses}</cbc:ID></cac:InvoiceDocumentReference>\n  </cac:BillingReference>\n"
        ));
    }
    let seller_name = if parties.seller_name.is_empty() { c.seller.to_string() } else { parties.seller_name.clone() };
    party(&mut out, "AccountingSupplierParty", &seller_name, &c.seller_taxpayer_id, &parties.seller_address);
    let buyer_address = civitas_types::invoice::PostalAddress {
        street: String::new(),
        city: String::new(),
        postal_code: String::new(),
        country: parties.seller_address.country.clone(),
    };
    party(&mut out, "AccountingCustomerParty", &c.buyer_name, &c.buyer_taxpayer_id, &buyer_address);
    out.push_str(&format!(
        "  <cac:PaymentMeans>\n    <cbc:PaymentMeansCode>ZZZ</cbc:PaymentMeansCode>\n    <cbc:PaymentID>{}</cbc:PaymentID>\n  </cac:PaymentMeans>\n",
        escape(&c.payment_id)
    ));
    out.push_str(&format!("  <cac:TaxTotal>\n    {}\n", amount("TaxAmount", c.tax_total)));
    let breakdown = civitas_types::invoice::tax_breakdown(&c.items).unwrap_or_default();
    for (rate, taxable, tax) in breakdown {
        let category = if rate == 0 { "Z" } else { "S" };
        out.push_str("    <cac:TaxSubtotal>\n");
        out.push_str(&format!("      {}\n      {}\n", amount("TaxableAmount", taxable), amount("TaxAmount", tax)));
        out.push_str(&format!(
            "      <cac:TaxCategory>\n        <cbc:ID>{category}</cbc:ID>\n        <cbc:Percent>{}</cbc:Percent>\n",
            percent(rate)
        ));
        tax_scheme(&mut out, "        ");
        out.push_str("      </cac:TaxCategory>\n    </cac:TaxSubtotal>\n");
    }
    out.push_str("  </cac:TaxTotal>\n");
    out.push_str("  <cac:LegalMonetaryTotal>\n");
    for (element, value) in [
        ("LineExtensionAmount", c.net_total),
        ("TaxExclusiveAmount", c.net_total),
        ("TaxInclusiveAmount", c.total),
        // An invoice is bound to a payment already recorded: all of it is prepaid (BT-113),
        // nothing is due (BT-115), so no due date or payment terms are owed (BR-CO-25).
        ("PrepaidAmount", c.total),
        ("PayableAmount", 0),
    ] {
        out.push_str(&format!("    {}\n", amount(element, value)));
    }
    out.push_str("  </cac:LegalMonetaryTotal>\n");
    for (k, item) in c.items.iter().enumerate() {
        let category = if item.tax_rate_bp == 0 { "Z" } else { "S" };
        out.push_str(&format!("  <cac:{line}>\n    <cbc:ID>{}</cbc:ID>\n", k + 1));
        out.push_str(&format!("    <cbc:{quantity} unitCode=\"C62\">{}</cbc:{quantity}>\n", item.quantity));
        out.push_str(&format!("    {}\n", amount("LineExtensionAmount", item.net().unwrap_or_default())));
        out.push_str(&format!("    <cac:Item>\n      <cbc:Name>{}</cbc:Name>\n", escape(&item.description)));
        out.push_str(&format!(
            "      <cac:ClassifiedTaxCategory>\n        <cbc:ID>{category}</cbc:ID>\n        <cbc:Percent>{}</cbc:Percent>\n",
            percent(item.tax_rate_bp)
        ));
        tax_scheme(&mut out, "        ");
        out.push_str("      </cac:ClassifiedTaxCategory>\n    </cac:Item>\n");
        out.push_str(&format!("    <cac:Price>\n      {}\n    </cac:Price>\n", amount("PriceAmount", item.unit_price)));
        out.push_str(&format!("  </cac:{line}>\n"));
    }
    out.push_str(&format!("</{root}>\n"));
    out
}

/// Sums per rate of an invoice's lines, for people (rate in basis points → taxable, tax).
pub fn breakdown_by_rate(items: &[LineItem]) -> BTreeMap<u32, (u128, u128)> {
    civitas_types::invoice::tax_breakdown(items)
        .unwrap_or_default()
        .into_iter()
        .map(|(rate, taxable, tax)| (rate, (taxable, tax)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use civitas_types::PublicKey;
    use civitas_types::invoice::InvoiceContent;

    fn metro() -> UblParties {
        UblParties {
            seller_name: "Metro Operator".into(),
            seller_address: civitas_types::invoice::PostalAddress::demo(),
        }
    }

    fn invoice(kind: InvoiceKind) -> Invoice {
        let seller = Did::from_initial_key(&PublicKey([1; 32]));
        let content = InvoiceContent {
            number: 7,
            kind,
            seller,
            seller_taxpayer_id: "91310000METRO01".into(),
            buyer_name: "Li & Sons <Ltd>".into(),
            buyer_taxpayer_id: "91440300EMP0001".into(),
            buyer: None,
            payment_id: "metro-2026-000042".into(),
            currency: "CNY".into(),
            items: vec![
                LineItem { description: "Metro fare".into(), quantity: 2, unit_price: 367, tax_rate_bp: 900 },
                LineItem { description: "Card deposit".into(), quantity: 1, unit_price: 2_000, tax_rate_bp: 0 },
            ],
            net_total: 2_734,
            tax_total: 66,
            total: 2_800,
            issued_height: 12,
            issued_ms: 1_795_528_912_020,
            reason: if matches!(kind, InvoiceKind::Credit { .. }) { "refund".into() } else { String::new() },
        };
        Invoice { hash: content.hash(), content, status: InvoiceStatus::Issued }
    }

    fn text<'a>(doc: &'a roxmltree::Document<'_>, path: &[&str]) -> Vec<&'a str> {
        // Every element at the path of local names from the root, its text.
        let mut nodes = vec![doc.root_element()];
        for name in path {
            nodes = nodes.iter().flat_map(|n| n.children().filter(|c| c.tag_name().name() == *name)).collect();
        }
        nodes.iter().filter_map(|n| n.text()).collect()
    }

    #[test]
    fn ubl_invoices_carry_the_en16931_core_fields_and_parse() {
        let xml = ubl_xml(&invoice(InvoiceKind::Normal), &metro());
        let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "Invoice");
        assert_eq!(root.tag_name().namespace(), Some("urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"));
        assert_eq!(text(&doc, &["CustomizationID"]), ["urn:cen.eu:en16931:2017"]);
        assert_eq!(text(&doc, &["ID"]), ["7"]);
        assert_eq!(text(&doc, &["IssueDate"]), ["2026-11-24"]);
        assert_eq!(text(&doc, &["InvoiceTypeCode"]), ["380"]);
        assert_eq!(text(&doc, &["DocumentCurrencyCode"]), ["CNY"]);
        let supplier = ["AccountingSupplierParty", "Party"];
        assert_eq!(
            text(&doc, &[&supplier[..], &["PartyLegalEntity", "RegistrationName"]].concat()),
            ["Metro Operator"]
        );
        // The VAT identifier carries its country prefix (BR-CO-09); the address its country.
        assert_eq!(text(&doc, &[&supplier[..], &["PartyTaxScheme", "CompanyID"]].concat()), ["CN91310000METRO01"]);
        assert_eq!(text(&doc, &[&supplier[..], &["PostalAddress", "CityName"]].concat()), ["Shanghai"]);
        let buyer_country = ["AccountingCustomerParty", "Party", "PostalAddress", "Country", "IdentificationCode"];
        assert_eq!(text(&doc, &buyer_country), ["CN"]);
        let buyer = ["AccountingCustomerParty", "Party", "PartyLegalEntity", "RegistrationName"];
        assert_eq!(text(&doc, &buyer), ["Li & Sons <Ltd>"], "escaped and read back");
        assert_eq!(text(&doc, &["PaymentMeans", "PaymentID"]), ["metro-2026-000042"]);
        assert_eq!(text(&doc, &["TaxTotal", "TaxAmount"]), ["0.66"]);
        assert_eq!(text(&doc, &["TaxTotal", "TaxSubtotal", "TaxableAmount"]), ["20.00", "7.34"]);
        assert_eq!(text(&doc, &["TaxTotal", "TaxSubtotal", "TaxCategory", "Percent"]), ["0", "9"]);
        assert_eq!(text(&doc, &["LegalMonetaryTotal", "LineExtensionAmount"]), ["27.34"]);
        assert_eq!(text(&doc, &["LegalMonetaryTotal", "TaxInclusiveAmount"]), ["28.00"]);
        assert_eq!(text(&doc, &["LegalMonetaryTotal", "PrepaidAmount"]), ["28.00"]);
        assert_eq!(text(&doc, &["LegalMonetaryTotal", "PayableAmount"]), ["0.00"]);
        assert_eq!(text(&doc, &["InvoiceLine", "InvoicedQuantity"]), ["2", "1"]);
        assert_eq!(text(&doc, &["InvoiceLine", "Item", "Name"]), ["Metro fare", "Card deposit"]);
        assert_eq!(text(&doc, &["InvoiceLine", "Price", "PriceAmount"]), ["3.67", "20.00"]);
        // The sum of line amounts is the document's net total (BR-CO-10).
        let lines: u128 = text(&doc, &["InvoiceLine", "LineExtensionAmount"])
            .iter()
            .map(|a| a.replace('.', "").parse::<u128>().expect("amount"))
            .sum();
        assert_eq!(lines, 2_734);
        let hash = invoice(InvoiceKind::Normal).hash.to_hex();
        assert!(text(&doc, &["Note"])[0].ends_with(&hash));
    }

    #[test]
    fn ubl_credit_notes_reference_the_invoice_they_reverse() {
        let xml = ubl_xml(&invoice(InvoiceKind::Credit { reverses: 3 }), &metro());
        let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
        assert_eq!(doc.root_element().tag_name().name(), "CreditNote");
        assert_eq!(text(&doc, &["CreditNoteTypeCode"]), ["381"]);
        assert_eq!(text(&doc, &["BillingReference", "InvoiceDocumentReference", "ID"]), ["3"]);
        assert_eq!(text(&doc, &["CreditNoteLine", "CreditedQuantity"]), ["2", "1"]);
        assert_eq!(text(&doc, &["Note"])[1], "refund");
    }
}
