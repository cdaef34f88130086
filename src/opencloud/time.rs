//! Time formats of Open Cloud.
//!
//! Owns: epoch milliseconds to v1 header times (`2022-02-02T23:30:06.5380000+00:00`,
//! seven fraction digits), to body times (RFC 3339 with `Z`), and parsing
//! RFC 3339 query times. Invariant: parse(format(t)) == t to the millisecond.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn datetime(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `roblox-entry-*-time` header form.
pub fn header_time(ms: i64) -> String {
    let t = datetime(ms);
    let Ok(year) = u32::try_from(t.year()) else {
        // Before year 0 (never a real entry's time).
        return general_header_time(t);
    };
    // Written digit by digit: every v1 answer carries two of these, and
    // `format!` costs several times more (BENCHMARKS.md, HTTP).
    let mut out = String::with_capacity(33);
    push_digits(&mut out, year, 4);
    out.push('-');
    push_digits(&mut out, u32::from(u8::from(t.month())), 2);
    out.push('-');
    push_digits(&mut out, u32::from(t.day()), 2);
    out.push('T');
    push_digits(&mut out, u32::from(t.hour()), 2);
    out.push(':');
    push_digits(&mut out, u32::from(t.minute()), 2);
    out.push(':');
    push_digits(&mut out, u32::from(t.second()), 2);
    out.push('.');
    push_digits(&mut out, t.nanosecond() / 100, 7);
    out.push_str("+00:00");
    out
}

/// The header form through `format!` (what `header_time` writes faster).
fn general_header_time(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}+00:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 100
    )
}

/// Appends the last `width` decimal digits of `n`, zero-padded.
fn push_digits(out: &mut String, n: u32, width: u32) {
    for i in (0..width).rev() {
        out.push(char::from(b'0' + (n / 10u32.pow(i) % 10) as u8));
    }
}

/// Body form: RFC 3339 in UTC with `Z`.
pub fn body_time(ms: i64) -> String {
    datetime(ms).format(&Rfc3339).unwrap_or_default()
}

/// Parses an RFC 3339 time to epoch milliseconds; `None` for a time that
/// is not in years 0000 to 9999 once in UTC (an offset can push
/// `9999-12-31T23:59Z-23:59` past them), which no answer could write back.
pub fn parse_time(text: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    let utc = t.checked_to_offset(time::UtcOffset::UTC)?;
    if !(0..=9999).contains(&utc.year()) {
        return None;
    }
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_open_cloud() {
        assert_eq!(
            header_time(1_643_844_606_538),
            "2022-02-02T23:30:06.5380000+00:00"
        );
        assert_eq!(body_time(1_694_956_791_014), "2023-09-17T13:19:51.014Z");
        assert_eq!(
            parse_time("2023-09-17T13:19:51.014Z"),
            Some(1_694_956_791_014)
        );
        assert_eq!(
            parse_time("2022-02-02T23:30:06.5388799+00:00"),
            Some(1_643_844_606_538)
        );
        assert_eq!(parse_time("yesterday"), None);
        // Found by fuzzing: in range locally, past year 9999 in UTC.
        assert_eq!(parse_time("9999-12-31T23:59:59.9999999-23:59"), None);
        assert_eq!(parse_time("0000-01-01T00:00:00+00:01"), None);
    }

    proptest::proptest! {
        /// The digit-by-digit header form is the `format!` form, for
        /// every time from year 0 to 9999.
        #[test]
        fn header_time_matches_the_general_form(ms in -62_167_219_200_000i64..253_402_300_799_999) {
            let general = general_header_time(datetime(ms));
            proptest::prop_assert_eq!(header_time(ms), general);
            proptest::prop_assert_eq!(parse_time(&header_time(ms)), Some(ms));
        }
    }
}
