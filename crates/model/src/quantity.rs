//! Kubernetes resource quantities ("250m", "1.5", "128Mi", "1e3", "123456789n") as numbers.
//! Requests, limits, capacity and metrics all use this notation; analyses compare them.

/// CPU in millicores. `None` for text that is not a quantity.
pub fn cpu_millis(q: &str) -> Option<f64> {
    quantity(q).map(|v| v * 1000.0)
}

/// Memory or storage in bytes. `None` for text that is not a quantity.
pub fn bytes(q: &str) -> Option<f64> {
    quantity(q)
}

/// The value of a quantity in base units (cores, bytes, counts).
pub fn quantity(q: &str) -> Option<f64> {
    let (num, pow2, pow10) = split_suffix(q.trim())?;
    // Decimal exponent form ("1e3", "12E-2") is left in `num` for the float parser.
    number(num).map(|n| n * 2f64.powi(pow2 as i32) * 10f64.powi(pow10))
}

/// A quantity's number and its suffix's scale, `2^pow2 × 10^pow10` (`Ki` … `Ei`, `n` …
/// `E`). The decimal exponent form (`1e3`) has no suffix: it stays in the number.
fn split_suffix(q: &str) -> Option<(&str, u32, i32)> {
    const BINARY: &[(&str, u32)] = &[
        ("Ki", 10),
        ("Mi", 20),
        ("Gi", 30),
        ("Ti", 40),
        ("Pi", 50),
        ("Ei", 60),
    ];
    const DECIMAL: &[(&str, i32)] = &[
        ("n", -9),
        ("u", -6),
        ("m", -3),
        ("k", 3),
        ("M", 6),
        ("G", 9),
        ("T", 12),
        ("P", 15),
        ("E", 18),
    ];
    if q.is_empty() {
        return None;
    }
    if let Some(found) = BINARY
        .iter()
        .find_map(|(s, b)| Some((q.strip_suffix(s)?, *b, 0)))
    {
        return Some(found);
    }
    if let Some(found) = DECIMAL
        .iter()
        .find_map(|(s, d)| Some((q.strip_suffix(s)?, 0, *d)))
    {
        return Some(found);
    }
    Some((q, 0, 0))
}

/// A quantity in thousandths of its unit, rounded up away from zero, exactly as
/// Kubernetes' `Quantity.MilliValue()`: what the scheduler compares CPU in (`250m` → 250,
/// `0.1` → 100, `1n` → 1). `None` for text that is not a quantity or does not fit an i64.
pub fn milli_value(q: &str) -> Option<i64> {
    exact(q, 1000)
}

/// A quantity in its unit, rounded up away from zero, exactly as `Quantity.Value()`: what
/// the scheduler compares memory, storage, pods and extended resources in (`1Ki` → 1024,
/// `100m` → 1).
pub fn value(q: &str) -> Option<i64> {
    exact(q, 1)
}

/// `ceil(q × scale)` in integers: no float rounding, so `0.3` and `300m` agree.
fn exact(q: &str, scale: i128) -> Option<i64> {
    let (mut num, pow2, mut pow10) = split_suffix(q.trim())?;
    if pow2 == 0 && pow10 == 0 {
        if let Some(at) = num.find(['e', 'E']) {
            pow10 = num[at + 1..].parse().ok()?;
            num = &num[..at];
        }
    }
    let (negative, digits) = match num.as_bytes().first()? {
        b'-' => (true, &num[1..]),
        b'+' => (false, &num[1..]),
        _ => (false, num),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        || int.len() + frac.len() > 30
        || !(-40..=40).contains(&pow10)
    {
        return None;
    }
    let mut mantissa: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        mantissa = mantissa * 10 + i128::from(b - b'0');
    }
    pow10 -= frac.len() as i32;
    let mut numerator = mantissa.checked_mul(scale)?.checked_mul(1i128 << pow2)?;
    let mut denominator: i128 = 1;
    if pow10 >= 0 {
        numerator = numerator.checked_mul(10i128.checked_pow(pow10 as u32)?)?;
    } else {
        denominator = 10i128.checked_pow(pow10.unsigned_abs())?;
    }
    let magnitude = numerator / denominator + i128::from(numerator % denominator != 0);
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

fn number(s: &str) -> Option<f64> {
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'+' | b'-' | b'e' | b'E'));
    if !ok {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kubernetes_notation() {
        assert_eq!(cpu_millis("250m"), Some(250.0));
        assert_eq!(cpu_millis("2"), Some(2000.0));
        assert_eq!(cpu_millis("1.5"), Some(1500.0));
        assert!((cpu_millis("123456789n").unwrap() - 123.456789).abs() < 1e-9);
        assert_eq!(bytes("128Mi"), Some(134217728.0));
        assert_eq!(bytes("1Gi"), Some(1073741824.0));
        assert_eq!(bytes("500M"), Some(5e8));
        assert_eq!(bytes("1e3"), Some(1000.0));
        assert_eq!(bytes("16086508Ki"), Some(16086508.0 * 1024.0));
        assert_eq!(bytes(""), None);
        assert_eq!(bytes("lots"), None);
        assert_eq!(bytes("12Qi"), None);
        assert_eq!(cpu_millis("m"), None);
    }

    /// `MilliValue()` and `Value()` as apimachinery's quantity tests state them: exact,
    /// rounded up away from zero.
    #[test]
    fn exact_values_round_up_like_apimachinery() {
        assert_eq!(milli_value("250m"), Some(250));
        assert_eq!(milli_value("0.1"), Some(100));
        assert_eq!(milli_value("0.3"), Some(300));
        assert_eq!(milli_value("1"), Some(1000));
        assert_eq!(milli_value("1n"), Some(1));
        assert_eq!(milli_value("1500u"), Some(2));
        assert_eq!(milli_value("1.5k"), Some(1_500_000));
        assert_eq!(milli_value("-1n"), Some(-1));
        assert_eq!(value("1Ki"), Some(1024));
        assert_eq!(value("128Mi"), Some(134_217_728));
        assert_eq!(value("1.5Gi"), Some(1_610_612_736));
        assert_eq!(value("100m"), Some(1));
        assert_eq!(value("1e3"), Some(1000));
        assert_eq!(value("12E-1"), Some(2));
        assert_eq!(value("110"), Some(110));
        assert_eq!(value("+5"), Some(5));
        assert_eq!(value("16086508Ki"), Some(16_086_508 * 1024));
        assert_eq!(value(""), None);
        assert_eq!(value("."), None);
        assert_eq!(value("1.2.3"), None);
        assert_eq!(value("12Qi"), None);
        assert_eq!(value("9999999999999999999999999999999"), None);
        assert_eq!(value("8Ei"), None, "2^63 does not fit an i64");
    }
}
