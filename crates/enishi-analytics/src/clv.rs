//! Discounted customer lifetime value: the purchases a count model (BG/NBD, MBG/NBD,
//! Pareto/NBD) expects month by month, discounted; times Gamma-Gamma's value per purchase.

/// Discounted purchases of a customer over `months` months: for each month, the purchases
/// expected in it, discounted at `monthly_discount` per month. `expected(h)` is the model's
/// expected purchases of this customer in the next `h` time units, and `unit_days` the length
/// of the time unit. Times the expected value per purchase, this is the customer's discounted
/// lifetime value.
pub fn discounted_purchases(expected: impl Fn(f64) -> f64, months: u32, monthly_discount: f64, unit_days: f64) -> f64 {
    let month = 30.0 / unit_days;
    let mut previous = 0.0;
    let mut total = 0.0;
    for i in 1..=months {
        let cumulative = expected(month * f64::from(i));
        total += (cumulative - previous) / (1.0 + monthly_discount).powi(i as i32);
        previous = cumulative;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::discounted_purchases;

    #[test]
    fn each_months_purchases_are_discounted_by_its_month() {
        // 0.1 purchases a week: 30/7 × 0.1 a month, discounted 1% a month over 3 months.
        let steady = discounted_purchases(|weeks| 0.1 * weeks, 3, 0.01, 7.0);
        let want = (1..=3).map(|i| 0.1 * 30.0 / 7.0 / 1.01f64.powi(i)).sum::<f64>();
        assert!((steady - want).abs() < 1e-12 && (steady - 1.260_422_231_672_380_8).abs() < 1e-12, "{steady}");
        // Cumulative h² in months: 1, 3 and 5 purchases in months 1–3, at 10% a month.
        let growing = discounted_purchases(|months| months * months, 3, 0.1, 30.0);
        assert!((growing - (1.0 / 1.1 + 3.0 / 1.21 + 5.0 / 1.331)).abs() < 1e-12, "{growing}");
        assert_eq!(discounted_purchases(|h| h, 0, 0.01, 7.0), 0.0);
    }
}
