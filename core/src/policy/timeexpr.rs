//! Durations, rolling windows and times of day as users write them.

use chrono_tz::Tz;
use std::str::FromStr;

/// Seconds in one `unit` (`second`, `min`, `hour`, `h`, `day`, `week`, plurals too).
pub fn unit_seconds(unit: &str) -> Option<u64> {
    Some(match unit.trim().to_ascii_lowercase().as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 604_800,
        _ => return None,
    })
}

/// Parses `90days`, `90 days`, `5m`, `1h`, `30s` into seconds.
pub fn duration_secs(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("expected a duration such as `90days` or `5m`, got `{text}`"))?;
    let unit = unit.trim().trim_start_matches('_');
    let per = if unit.is_empty() { None } else { unit_seconds(unit) };
    let per = per.ok_or_else(|| format!("expected a duration such as `90days` or `5m`, got `{text}`"))?;
    n.checked_mul(per)
        .filter(|s| *s > 0)
        .ok_or_else(|| format!("duration `{text}` is zero or too large"))
}

/// `last_7_days`, `last 24 hours`, `7d` → seconds.
pub fn last_window(text: &str) -> Result<u64, String> {
    let t = text.trim().to_ascii_lowercase().replace('_', " ");
    let t = t.strip_prefix("last").unwrap_or(&t).trim().replace(' ', "");
    duration_secs(&t).map_err(|_| format!("expected a window such as `last_7_days`, got `{text}`"))
}

/// The IANA zone for a name users write: IANA names, or common abbreviations.
///
/// US abbreviations name the region's civil time all year (`EST` means
/// America/New_York, daylight saving included), because "9am-5pm EST" means
/// New York business hours to the people who write it.
pub fn zone(name: &str) -> Option<&'static str> {
    let z = match name.trim().to_ascii_uppercase().as_str() {
        "EST" | "EDT" | "ET" => "America/New_York",
        "CT" => "America/Chicago",
        "MST" | "MDT" | "MT" => "America/Denver",
        "PST" | "PDT" | "PT" => "America/Los_Angeles",
        "UTC" | "GMT" | "Z" => "UTC",
        "CET" | "CEST" => "Europe/Paris",
        "JST" => "Asia/Tokyo",
        _ => return Tz::from_str(name.trim()).ok().map(|tz| tz.name()),
    };
    Some(z)
}

/// Abbreviations that name several zones, with the IANA names they may mean: refused, so a
/// policy never runs on a guess (`IST` is India, Ireland or Israel).
pub fn ambiguous_zone(name: &str) -> Option<&'static str> {
    Some(match name.trim().to_ascii_uppercase().as_str() {
        "CST" => "US Central (America/Chicago), China (Asia/Shanghai) or Cuba (America/Havana)",
        "CDT" => "US Central (America/Chicago) or Cuba (America/Havana)",
        "IST" => "India (Asia/Kolkata), Ireland (Europe/Dublin) or Israel (Asia/Jerusalem)",
        "BST" => "British Summer Time (Europe/London) or Bangladesh (Asia/Dhaka)",
        "AST" => "Atlantic (America/Halifax) or Arabia (Asia/Riyadh)",
        "ADT" => "Atlantic (America/Halifax)",
        "EET" | "EEST" => "Eastern Europe (Europe/Athens, Europe/Kyiv, ...)",
        _ => return None,
    })
}

/// Minutes after midnight for `9am`, `5pm`, `9:30am`, `17:00`, `12am`.
fn clock(text: &str) -> Option<u32> {
    let t = text.trim().to_ascii_lowercase();
    let (body, offset) = if let Some(b) = t.strip_suffix("am") {
        (b.trim(), Some(0))
    } else if let Some(b) = t.strip_suffix("pm") {
        (b.trim(), Some(12))
    } else {
        (t.as_str(), None)
    };
    let (h, m) = match body.split_once(':') {
        Some((h, m)) => (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?),
        None => (body.parse::<u32>().ok()?, 0),
    };
    if m > 59 {
        return None;
    }
    let h = match offset {
        Some(off) if (1..=12).contains(&h) => h % 12 + off,
        Some(_) => return None,
        None if h <= 24 => h,
        None => return None,
    };
    Some(h * 60 + m).filter(|v| *v <= 24 * 60)
}

/// `between 9am-5pm EST`, `9am - 5pm America/New_York`, `between 09:00 and 17:00 UTC on weekdays`
/// → a CEL condition on `now`. The end is exclusive; a range past midnight wraps.
pub fn time_of_day(text: &str) -> Result<String, String> {
    let bad = || {
        format!("expected a time range such as `between 9am-5pm EST` or `between 09:00 and 17:00 Europe/Paris`, got `{text}`")
    };
    let mut t = text.trim().to_string();
    let weekdays = t.ends_with("on weekdays");
    if weekdays {
        t = t.trim_end_matches("on weekdays").trim().to_string();
    }
    let t = t.strip_prefix("between").unwrap_or(&t).trim();
    let (range, tz_name) = t.rsplit_once(' ').ok_or_else(bad)?;
    if let Some(meanings) = ambiguous_zone(tz_name) {
        return Err(format!(
            "the time zone `{tz_name}` is ambiguous: it may mean {meanings}; write the IANA name"
        ));
    }
    let tz = zone(tz_name).ok_or_else(|| {
        format!("unknown time zone `{tz_name}` in `{text}`; use an IANA name such as America/New_York")
    })?;
    let (a, b) = range
        .split_once(" and ")
        .or_else(|| range.split_once('-'))
        .ok_or_else(bad)?;
    let (start, end) = (clock(a).ok_or_else(bad)?, clock(b).ok_or_else(bad)?);
    if start == end {
        return Err(format!("the time range in `{text}` is empty"));
    }
    let minute = format!("(now.getHours(\"{tz}\") * 60 + now.getMinutes(\"{tz}\"))");
    let mut cel = if start < end {
        format!("{minute} >= {start} && {minute} < {end}")
    } else {
        format!("({minute} >= {start} || {minute} < {end})")
    };
    if weekdays {
        cel = format!("now.getDayOfWeek(\"{tz}\") >= 1 && now.getDayOfWeek(\"{tz}\") <= 5 && {cel}");
    }
    Ok(cel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_secs("90days").unwrap(), 90 * 86_400);
        assert_eq!(duration_secs("5m").unwrap(), 300);
        assert_eq!(duration_secs("1 hour").unwrap(), 3600);
        assert!(duration_secs("soon").is_err());
        assert!(duration_secs("0s").is_err());
        assert_eq!(last_window("last_7_days").unwrap(), 7 * 86_400);
    }

    #[test]
    fn times_of_day() {
        let cel = time_of_day("between 9am-5pm EST").unwrap();
        assert!(
            cel.contains(">= 540") && cel.contains("< 1020") && cel.contains("America/New_York"),
            "{cel}"
        );
        assert!(time_of_day("between 22:00 and 06:00 UTC").unwrap().contains("||"));
        assert!(time_of_day("9am-5pm Mars/Base").unwrap_err().contains("Mars/Base"));
        assert!(time_of_day("whenever").is_err());
        assert_eq!(clock("12am"), Some(0));
        assert_eq!(clock("12pm"), Some(720));
        assert_eq!(clock("13pm"), None);
    }
}
