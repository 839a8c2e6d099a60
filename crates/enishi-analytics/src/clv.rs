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
