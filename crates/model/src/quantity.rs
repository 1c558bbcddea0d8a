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
    let q = q.trim();
    if q.is_empty() {
        return None;
    }
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("Ti", 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("Pi", 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("Ei", 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    for (suffix, factor) in SUFFIXES {
        if let Some(num) = q.strip_suffix(suffix) {
            return number(num).map(|n| n * factor);
        }
    }
    // Decimal exponent form: "1e3", "12E-2".
    number(q)
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
}
