//! The portal's pages for what the chain's modules keep of the resident: the invoices sellers
//! issued to them, and submitting one to an employer for reimbursement; their leases as landlord
//! or tenant, with the terms, where the rent stands and its payments, and paying rent; the
//! devices they own, with the grants of one of their scenes or to one controller, and revoking a
//! grant; and the wages paid into their account, with the proof a worker shows. Invoices and
//! leases are private: signed reads with the resident's key. Devices and wages are public and
//! read as anyone reads them. Every action is a transaction signed here, as the CLI's are.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::Arc;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use civitas_client::device::GrantAnswerJson;
use civitas_client::fund::PayrollJson;
use civitas_client::invoice::InvoiceJson;
use civitas_client::rental::LeaseJson;
use civitas_types::device::list::scene_name_ok;
use civitas_types::device::{DeviceId, DeviceInstruction, DeviceList, DeviceStatus, Passport};
use civitas_types::fund::{FundEntry, FundList, Wage};
use civitas_types::rental::{
    Lease, LeaseStatus, RentPayment, RentStanding, RentalEntry, RentalInstruction, RentalList,
};
use civitas_types::{Did, Instruction, InvoiceInstruction};
use maud::{Markup, html};
use serde::Deserialize;

use super::forms::{Fields, act, did_field, done, done_note, field, in_portal, parse_did, query};
use super::{Portal, blocking, node_error};
use crate::error::PageError;
use crate::explorer::{clip, number};
use crate::layout::{amount, badge, facts, short, short_link, time};

type PortalState = State<Arc<Portal>>;

/// Invoices per page (the API gives at most 100).
const INVOICES_PAGE: u64 = 50;
/// Leases per page: each costs two more signed reads (the lease and its payments).
const LEASES_PAGE: u64 = 20;
/// A lease's newest payments shown.
const PAYMENTS_SHOWN: u64 = 24;
/// Devices per page, and most grants of one scene listed (the API's page).
const DEVICES_PAGE: u64 = civitas_types::device::list::LIST_PAGE_MAX;
/// Wages per page: the API's default window, so the first page's proof is the plain
/// `?prove=true`.
const WAGES_PAGE: u64 = 100;

/// The module pages.
pub(super) fn routes() -> Router<Arc<Portal>> {
    Router::new()
        .route("/invoices", get(invoices::invoices))
        .route("/invoices/{number}/submit", post(invoices::submit_invoice))
        .route("/leases", get(leases::leases))
        .route("/leases/{id}/pay", post(leases::pay_rent))
        .route("/devices", get(devices::devices))
        .route("/devices/{device}/revoke", post(devices::revoke_grant))
        .route("/wages", get(wages::wages))
}

fn parse_device(text: &str) -> Result<DeviceId, PageError> {
    text.parse().map_err(|e| PageError::bad(format!("`{}` is {e}", clip(text))))
}

/// A time given in unix seconds.
fn unix(secs: u64) -> Markup {
    time(secs.saturating_mul(1000))
}

/// `minor` units as a form's value: `12.00`, without separators.
fn plain_amount(minor: u128) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// An amount typed into a form (`12`, `12.5`, `1,200.00`: whole units and at most two
/// decimals), in minor units; more than zero.
fn parse_amount(name: &str, text: &str) -> Result<u128, PageError> {
    let bad = || PageError::bad(format!("{name} is an amount such as 12.00; `{}` is not", clip(text)));
    let digits: String = text.trim().chars().filter(|c| *c != ',').collect();
    let (whole, cents) = digits.split_once('.').unwrap_or((&digits, ""));
    let numeric = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && cents.is_empty()) || !numeric(whole) || !numeric(cents) || cents.len() > 2 {
        return Err(bad());
    }
    let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
    let cents: u128 = match cents.len() {
        0 => 0,
        1 => cents.parse::<u128>().map_err(|_| bad())? * 10,
        _ => cents.parse().map_err(|_| bad())?,
    };
    let minor = whole.checked_mul(100).and_then(|w| w.checked_add(cents)).ok_or_else(bad)?;
    if minor == 0 {
        return Err(PageError::bad(format!("{name} must be more than 0.00")));
    }
    Ok(minor)
}

/// Organizations' names beside their DIDs, each read once per page.
struct Names<'a> {
    p: &'a Portal,
    known: BTreeMap<Did, Option<String>>,
}

impl<'a> Names<'a> {
    fn new(p: &'a Portal) -> Names<'a> {
        Names { p, known: BTreeMap::new() }
    }

    /// `did` for people: "you", an organization's name, or the DID; linked to its account in
    /// the explorer.
    fn party(&mut self, did: &Did) -> Result<Markup, PageError> {
        if *did == self.p.did {
            return Ok(html! { strong { "you" } });
        }
        let name = match self.known.get(did) {
            Some(n) => n.clone(),
            None => {
                let n = self.p.client.organization(did).map_err(node_error)?.map(|o| o.name);
                self.known.insert(*did, n.clone());
                n
            }
        };
        let text = did.to_string();
        let href = format!("{}/accounts/{text}", self.p.node);
        Ok(match name {
            Some(n) => html! { a href=(href) title=(text) { (n) } },
            None => short_link(&text, &href),
        })
    }

    /// The same, for a DID the API gives as text.
    fn party_text(&mut self, text: &str) -> Result<Markup, PageError> {
        match text.parse::<Did>() {
            Ok(d) => self.party(&d),
            Err(_) => Ok(short(text)),
        }
    }
}

/// A list page's query: where the list starts, and the transaction a form just committed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    from: Option<u64>,
    done: Option<String>,
}

mod devices;
mod invoices;
mod leases;
mod wages;

#[cfg(test)]
mod tests;
