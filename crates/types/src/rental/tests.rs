use super::*;
use crate::PublicKey;
use proptest::prelude::*;

fn did(b: u8) -> Did {
    Did::from_initial_key(&PublicKey([b; 32]))
}

const DAY: u64 = DAY_SECS;
/// 2027-01-31T09:00:00Z.
const JAN31: u64 = 1_801_353_600 + 9 * 3600;

fn terms(period: RentPeriod, start: u64, end: u64) -> LeaseTerms {
    LeaseTerms { rent: 3_000, period, deposit: 6_000, start, end, lock: None, claim_days: 14, document: Hash([7; 32]) }
}

fn lease(t: LeaseTerms) -> Lease {
    Lease {
        id: 1,
        property: 2,
        listing: 3,
        landlord: did(1),
        tenant: did(2),
        housing: did(3),
        status: LeaseStatus::Active,
        version: 1,
        latest: 1,
        rent: vec![RentSegment { from_period: 0, rent: t.rent }],
        terms: t,
        filing: "2027-000001".into(),
        filed_at: Some(5),
        paid: 0,
        to_landlord: 0,
        rent_escrow: 0,
        refunded: 0,
        deposit: Deposit { held: 6_000, claimed: None, claim_reason: String::new(), claim_until: None, released: None },
        termination: None,
        dispute: None,
        ended_at: None,
        height: 9,
    }
}

#[test]
fn the_start_is_31_january_2027() {
    assert_eq!(civil_from_days((JAN31 / DAY) as i64), (2027, 1, 31));
}

#[test]
fn a_years_monthly_schedule_keeps_the_day_or_the_months_end() {
    let end = add_months(JAN31, 12);
    let l = lease(terms(RentPeriod::Monthly, JAN31, end));
    assert_eq!(l.periods(), 12);
    assert_eq!(l.total_rent(), 36_000);
    let feb = RentPeriod::Monthly.due(JAN31, 1);
    assert_eq!(civil_from_days((feb / DAY) as i64), (2027, 2, 28));
    assert_eq!(civil_from_days((RentPeriod::Monthly.due(JAN31, 2) / DAY) as i64), (2027, 3, 31));
    assert_eq!(l.due_count(JAN31 - 1), 0);
    assert_eq!(l.due_count(JAN31), 1);
    assert_eq!(l.due_count(feb), 2);
    assert_eq!(lease(terms(RentPeriod::Weekly, JAN31, JAN31 + 28 * DAY)).periods(), 4);
    assert_eq!(lease(terms(RentPeriod::Quarterly, JAN31, end)).periods(), 4);
    assert_eq!(lease(terms(RentPeriod::Yearly, JAN31, add_months(JAN31, 36))).periods(), 3);
}

#[test]
fn overdue_rent_is_what_fell_due_unpaid_since_the_first_short_period() {
    let mut l = lease(terms(RentPeriod::Monthly, JAN31, add_months(JAN31, 12)));
    let mar31 = RentPeriod::Monthly.due(JAN31, 2);
    let s = l.standing(mar31 + 1);
    assert_eq!((s.periods_due, s.due, s.overdue, s.overdue_since), (3, 9_000, 9_000, Some(JAN31)));
    l.paid = 4_000;
    let s = l.standing(mar31 + 1);
    assert_eq!((s.overdue, s.overdue_since), (5_000, Some(RentPeriod::Monthly.due(JAN31, 1))));
    assert_eq!(s.next_due, Some(RentPeriod::Monthly.due(JAN31, 3)));
    l.paid = 9_000;
    assert_eq!(l.standing(mar31 + 1).overdue, 0);
    assert_eq!(l.standing(mar31 + 1).overdue_since, None);
}

#[test]
fn the_landlords_share_stops_three_months_ahead_and_at_termination() {
    let mut l = lease(terms(RentPeriod::Monthly, JAN31, add_months(JAN31, 12)));
    l.paid = 36_000;
    // On the start day, periods due by 30 April (the 31st clamped) are the landlord's: 4.
    assert_eq!(l.landlords_share(JAN31), 12_000);
    l.status = LeaseStatus::Terminated;
    l.ended_at = Some(JAN31 + 40 * DAY);
    assert_eq!(l.periods(), 2);
    assert_eq!(l.landlords_share(JAN31), 6_000);
}

#[test]
fn an_amendment_changes_rent_from_its_first_period() {
    let mut l = lease(terms(RentPeriod::Monthly, JAN31, add_months(JAN31, 12)));
    l.rent.push(RentSegment { from_period: 6, rent: 3_300 });
    assert_eq!(l.rent_of(5), 3_000);
    assert_eq!(l.rent_of(6), 3_300);
    assert_eq!(l.total_rent(), 6 * 3_000 + 6 * 3_300);
}

proptest! {
    #[test]
    fn records_round_trip(a in any::<u128>(), n in any::<u64>(), v in any::<u32>(), lock in any::<bool>()) {
        let mut t = terms(RentPeriod::Quarterly, n, n / 2);
        t.rent = a;
        t.lock = lock.then_some(crate::device::DeviceId(PublicKey([4; 32])));
        let mut l = lease(t.clone());
        l.paid = a;
        l.deposit.claimed = Some(a / 2);
        l.deposit.released =
            Some(Release { to_landlord: a / 3, to_tenant: a / 5, kind: ReleaseKind::Decided, at: n });
        l.termination = Some(Request { by: did(1), reason: "moving".into(), at: n });
        prop_assert_eq!(Lease::decode(&l.encode()), Ok(l));
        let p = Property {
            id: n, housing: did(3), reference: "XA-0001".into(), address: "1 Lake Rd".into(),
            floor_area_m2: lock.then_some(v), owner: did(1), listing: Some(n), lease: None, registered_at: n,
        };
        prop_assert_eq!(Property::decode(&p.encode()), Ok(p));
        let listing = Listing {
            id: n, property: 1, landlord: did(1), agent: lock.then(|| did(5)),
            terms: ListingTerms {
                title: "Two rooms".into(), rent: a, period: RentPeriod::Monthly, deposit: a, min_term_months: 12,
                available_from: n, furnished: Furnished::Partially, includes: vec![Included::Water, Included::Internet],
            },
            status: ListingStatus::Leased, listed_at: n, ended_at: Some(n), presentation: Hash([2; 32]), height: 4,
        };
        prop_assert_eq!(Listing::decode(&listing.encode()), Ok(listing));
        let version = LeaseVersion {
            lease: n, version: v, terms: t, proposed_by: did(2), proposed_at: n, signed_at: None, superseded: lock,
        };
        prop_assert_eq!(LeaseVersion::decode(&version.encode()), Ok(version));
        let e = HistoryEntry { kind: HistoryKind::DepositReleased, subject: n, version: v, at: n, height: 3 };
        prop_assert_eq!(HistoryEntry::decode(&e.encode()), Ok(e));
        let pay = RentPayment { amount: a, to_landlord: a / 2, to_escrow: a - a / 2, at: n, height: 1 };
        prop_assert_eq!(RentPayment::decode(&pay.encode()), Ok(pay));
    }

    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = Lease::decode(&bytes);
        let _ = Listing::decode(&bytes);
        let _ = Property::decode(&bytes);
        let _ = LeaseVersion::decode(&bytes);
        let _ = HistoryEntry::decode(&bytes);
        let _ = RentPayment::decode(&bytes);
    }

    #[test]
    fn paid_in_full_is_never_overdue(months in 1u32..60, paid_periods in 0u32..60, now_days in 0u64..2_000) {
        let mut l = lease(terms(RentPeriod::Monthly, JAN31, add_months(JAN31, months)));
        l.paid = l.cumulative(paid_periods.min(months));
        let s = l.standing(JAN31 + now_days * DAY);
        prop_assert!(s.periods_due <= s.periods);
        prop_assert_eq!(s.overdue, s.due.saturating_sub(l.paid));
        prop_assert_eq!(s.overdue == 0, l.paid >= s.due);
        prop_assert!(l.landlords_share(JAN31 + now_days * DAY) <= l.paid);
    }
}

#[test]
fn list_names_round_trip_and_keys_differ() {
    let lists = [
        RentalList::Listings,
        RentalList::History(1),
        RentalList::Filings(did(1)),
        RentalList::Leases(did(1)),
        RentalList::Payments(1),
    ];
    let mut keys = std::collections::BTreeSet::new();
    for l in lists {
        assert_eq!(RentalList::parse(&l.to_string()), Ok(l));
        assert!(keys.insert(l.count_key()));
        assert!(keys.insert(l.entry_key(0)));
    }
    assert!(RentalList::parse("history/x").is_err());
    assert!(RentalList::parse("nothing").is_err());
}
