//! Proleptic Gregorian dates from unix seconds, in integers only (execution uses them: no
//! floats, no clock, no time zone; dates are UTC). The day-count conversions are the
//! well-known era algorithms (400-year eras of 146,097 days).

/// Days since 1970-01-01 of the date `year-month-day` (month 1 to 12, day 1 to 31).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month 1 to 12, day 1 to 31) of `days` since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `secs` (unix seconds) plus `months` calendar months, at the same time of day: the same day of
/// the month, or the month's last day where it is shorter (31 January + 1 month = 28 or 29
/// February). Saturates far beyond any lease.
pub fn add_months(secs: u64, months: u32) -> u64 {
    let days = (secs / 86_400) as i64;
    let time = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let index = year * 12 + i64::from(month - 1) + i64::from(months);
    let (y, m) = (index.div_euclid(12), (index.rem_euclid(12) + 1) as u32);
    let d = day.min(days_in_month(y, m));
    let out = days_from_civil(y, m, d);
    u64::try_from(out).map_or(u64::MAX, |d| d.saturating_mul(86_400).saturating_add(time))
}

/// The UTC year of `secs` (unix seconds).
pub fn year_of(secs: u64) -> i64 {
    civil_from_days((secs / 86_400) as i64).0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        // 2026-11-30T00:00:00Z
        assert_eq!(days_from_civil(2026, 11, 30) * 86_400, 1_795_996_800);
        assert_eq!(civil_from_days(days_from_civil(2000, 2, 29)), (2000, 2, 29));
        assert_eq!(year_of(1_795_996_800), 2026);
    }

    #[test]
    fn months_keep_the_day_or_clamp_to_the_month_end() {
        let jan31 = days_from_civil(2027, 1, 31) as u64 * 86_400 + 3_600;
        assert_eq!(add_months(jan31, 1), days_from_civil(2027, 2, 28) as u64 * 86_400 + 3_600);
        assert_eq!(add_months(jan31, 13), days_from_civil(2028, 2, 29) as u64 * 86_400 + 3_600);
        assert_eq!(add_months(jan31, 2), days_from_civil(2027, 3, 31) as u64 * 86_400 + 3_600);
        assert_eq!(add_months(jan31, 0), jan31);
        assert_eq!(add_months(jan31, 12 * 400), days_from_civil(2427, 1, 31) as u64 * 86_400 + 3_600);
    }

    proptest! {
        #[test]
        fn days_round_trip(days in -1_000_000i64..1_000_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }

        #[test]
        fn adding_months_moves_forward_by_at_most_31_days_each(secs in 0u64..4_000_000_000, months in 0u32..240) {
            let later = add_months(secs, months);
            prop_assert!(later >= secs);
            prop_assert!(later - secs <= u64::from(months) * 31 * 86_400);
            prop_assert!(later - secs + 3 * 86_400 >= u64::from(months) * 28 * 86_400);
        }
    }
}
