//! Synthetic shop data, realistic enough to demo and to benchmark on.
//!
//! Each customer buys by a BG/NBD-like process: a personal purchase rate λ ~ Gamma(r, α)
//! (per week) and, after every purchase, a chance p ~ Beta(a, b) of going quiet for good.
//! Order values follow Gamma-Gamma: a personal mean drawn once, each order scattered around
//! it, which gives the Pareto shape of real shops (the top 20% of customers bring roughly 70%
//! of revenue). Products come in categories with co-purchase affinities (coffee beans go with
//! filters), months have seasonal weights, customers mix channels, a few are contacts of B2B
//! accounts, some orders are partly returned and some customers never gave email consent.
//! The same seed gives the same files.

mod catalogue;
mod people;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use rand::distributions::Distribution;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Exp, Gamma};
use std::io::{BufWriter, Write};
use std::path::Path;

pub use catalogue::Catalogue;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// Number of customers.
    pub customers: u64,
    /// Random seed.
    pub seed: u64,
    /// Last day of the history (the first is two years before).
    pub end: NaiveDate,
    /// Weeks of history.
    pub weeks: u32,
}

impl GenOptions {
    /// `customers` customers with `seed`, two years of history ending on 2026-10-31.
    pub fn new(customers: u64, seed: u64) -> Self {
        GenOptions { customers, seed, end: NaiveDate::from_ymd_opt(2026, 10, 31).expect("valid date"), weeks: 104 }
    }
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenSummary {
    /// Customers written.
    pub customers: u64,
    /// Products written.
    pub products: u64,
    /// Orders written.
    pub orders: u64,
    /// Order lines written (returns included).
    pub lines: u64,
    /// Returns written.
    pub returns: u64,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}")]
pub struct GenError {
    path: String,
    source: std::io::Error,
}

// Population parameters (per week), in the range the CLV literature reports for retail.
const R: f64 = 0.45;
const ALPHA: f64 = 0.95;
const A: f64 = 0.8;
const B: f64 = 5.5;
// Gamma-Gamma spend: shape of an order's value around the personal mean, and the spread of
// personal means across customers.
const P_SPEND: f64 = 4.0;
const Q_SPEND: f64 = 1.7;
const GAMMA_SPEND: f64 = 28.0;

/// Monthly weights (January first): December peak, a summer dip.
const SEASON: [f64; 12] = [0.85, 0.8, 0.95, 1.0, 1.0, 0.9, 0.85, 0.85, 0.95, 1.05, 1.2, 1.6];

/// Writes customers.csv, products.csv and orders.csv into `dir`.
pub fn generate(opts: &GenOptions, dir: &Path) -> Result<GenSummary, GenError> {
    let err = |p: &Path| {
        let path = p.display().to_string();
        move |source| GenError { path: path.clone(), source }
    };
    std::fs::create_dir_all(dir).map_err(err(dir))?;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let catalogue = Catalogue::new(&mut rng);
    let products_path = dir.join("products.csv");
    let mut summary = GenSummary::default();
    {
        let mut out = BufWriter::new(std::fs::File::create(&products_path).map_err(err(&products_path))?);
        catalogue.write_csv(&mut out).map_err(err(&products_path))?;
        out.flush().map_err(err(&products_path))?;
        summary.products = catalogue.len() as u64;
    }
    let customers_path = dir.join("customers.csv");
    let orders_path = dir.join("orders.csv");
    let mut customers_out =
        BufWriter::with_capacity(1 << 20, std::fs::File::create(&customers_path).map_err(err(&customers_path))?);
    let mut orders_out =
        BufWriter::with_capacity(1 << 20, std::fs::File::create(&orders_path).map_err(err(&orders_path))?);
    let mut sim = Simulation::new(opts, catalogue);
    sim.write_headers(&mut customers_out, &mut orders_out).map_err(err(&orders_path))?;
    for n in 1..=opts.customers {
        sim.customer(&mut rng, n, &mut customers_out, &mut orders_out, &mut summary).map_err(err(&orders_path))?;
    }
    customers_out.flush().map_err(err(&customers_path))?;
    orders_out.flush().map_err(err(&orders_path))?;
    Ok(summary)
}

struct Simulation {
    start: NaiveDateTime,
    weeks: f64,
    catalogue: Catalogue,
    rate: Gamma<f64>,
    dropout: Beta<f64>,
    personal_mean: Gamma<f64>,
    order_no: u64,
    accounts: u64,
}

impl Simulation {
    fn new(opts: &GenOptions, catalogue: Catalogue) -> Self {
        let end = opts.end.and_hms_opt(23, 59, 0).expect("valid time");
        let weeks = f64::from(opts.weeks);
        Simulation {
            start: end - Duration::weeks(i64::from(opts.weeks)),
            weeks,
            catalogue,
            rate: Gamma::new(R, 1.0 / ALPHA).expect("valid gamma"),
            dropout: Beta::new(A, B).expect("valid beta"),
            personal_mean: Gamma::new(Q_SPEND, 1.0 / GAMMA_SPEND).expect("valid gamma"),
            order_no: 0,
            accounts: (opts.customers / 60).max(1),
        }
    }

    fn write_headers(&self, customers: &mut impl Write, orders: &mut impl Write) -> std::io::Result<()> {
        writeln!(customers, "{}", people::HEADER)?;
        writeln!(orders, "order_id,customer_id,placed_at,sku,quantity,unit_price,currency,channel,category,return_of")
    }

    /// The customer's purchase times in weeks since the start: acquisition, then a Poisson
    /// process at rate λ, stopping for good with probability p after each purchase.
    fn purchase_weeks(&self, rng: &mut ChaCha8Rng) -> Vec<f64> {
        // Acquisition grows over time: later weeks are more likely.
        let first = self.weeks * rng.gen::<f64>().powf(0.8);
        let lambda = self.rate.sample(rng).max(1e-4);
        let p = self.dropout.sample(rng);
        let gap = Exp::new(lambda).expect("positive rate");
        let mut times = vec![first];
        let mut t = first;
        loop {
            if rng.gen::<f64>() < p {
                break;
            }
            t += gap.sample(rng);
            if t >= self.weeks {
                break;
            }
            // Seasonal thinning: quiet months keep fewer purchases.
            let month = self.at(t).date().format("%m").to_string().parse::<usize>().unwrap_or(1) - 1;
            if rng.gen::<f64>() < SEASON[month] / 1.6 {
                times.push(t);
            }
        }
        times
    }

    fn at(&self, week: f64) -> NaiveDateTime {
        self.start + Duration::seconds((week * 7.0 * 86_400.0) as i64)
    }

    fn customer(
        &mut self,
        rng: &mut ChaCha8Rng,
        n: u64,
        customers: &mut impl Write,
        orders: &mut impl Write,
        summary: &mut GenSummary,
    ) -> std::io::Result<()> {
        let weeks = self.purchase_weeks(rng);
        // First seen early on the day of the first order (orders come later in the day).
        let first_seen = self.at(weeks[0]).date().and_hms_opt(6, 0, 0).expect("valid time");
        let b2b = rng.gen::<f64>() < 0.03;
        let account = b2b.then(|| rng.gen_range(1..=self.accounts));
        let profile = people::Profile::new(rng, n, first_seen, account);
        profile.write_csv(customers)?;
        summary.customers += 1;

        let mean_value = 1.0 / self.personal_mean.sample(rng) * if b2b { 4.0 } else { 1.0 };
        let order_value = Gamma::new(P_SPEND, mean_value / P_SPEND).expect("valid gamma");
        let favourite = self.catalogue.favourite_category(rng);
        for w in weeks {
            self.order_no += 1;
            let placed = self.at(w).date().and_hms_opt(0, 0, 0).expect("midnight") + profile.time_of_day(rng);
            let placed = placed.format("%Y-%m-%d %H:%M:%S").to_string();
            let budget = order_value.sample(rng).max(3.0);
            let channel = if b2b { "b2b" } else { profile.channel(rng) };
            let lines = self.catalogue.basket(rng, favourite, budget);
            let order_id = format!("G{:09}", self.order_no);
            for l in &lines {
                writeln!(
                    orders,
                    "{order_id},{},{placed},{},{},{},USD,{channel},{},",
                    profile.external_id, l.sku, l.quantity, l.unit_price, l.category
                )?;
            }
            summary.orders += 1;
            summary.lines += lines.len() as u64;
            // About 3% of orders have one line partly or fully returned a few days later.
            if rng.gen::<f64>() < 0.03 {
                let l = &lines[rng.gen_range(0..lines.len())];
                let qty = rng.gen_range(1..=l.quantity);
                let when = self.at((w + rng.gen_range(0.2..2.0)).min(self.weeks - 0.01)).format("%Y-%m-%d %H:%M:%S");
                writeln!(
                    orders,
                    "R{:09},{},{when},{},-{qty},{},USD,{channel},{},{order_id}",
                    self.order_no, profile.external_id, l.sku, l.unit_price, l.category
                )?;
                summary.returns += 1;
                summary.lines += 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(dir: &Path, f: &str) -> String {
        std::fs::read_to_string(dir.join(f)).unwrap()
    }

    #[test]
    fn same_seed_same_files_other_seed_other_files() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let c = tempfile::tempdir().unwrap();
        generate(&GenOptions::new(300, 7), a.path()).unwrap();
        generate(&GenOptions::new(300, 7), b.path()).unwrap();
        generate(&GenOptions::new(300, 8), c.path()).unwrap();
        for f in ["customers.csv", "products.csv", "orders.csv"] {
            assert_eq!(read(a.path(), f), read(b.path(), f), "{f}");
        }
        assert_ne!(read(a.path(), "orders.csv"), read(c.path(), "orders.csv"));
    }

    #[test]
    fn spend_is_pareto_shaped_and_the_mix_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let s = generate(&GenOptions::new(5000, 1), dir.path()).unwrap();
        assert_eq!(s.customers, 5000);
        assert!(s.returns > 0);
        let orders = read(dir.path(), "orders.csv");
        let mut spend: std::collections::HashMap<&str, f64> = Default::default();
        let mut channels = std::collections::HashSet::new();
        for line in orders.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let value = f[4].parse::<f64>().unwrap() * f[5].parse::<f64>().unwrap();
            *spend.entry(f[1]).or_default() += value;
            channels.insert(f[7]);
        }
        let mut v: Vec<f64> = spend.values().copied().collect();
        v.sort_by(|a, b| b.partial_cmp(a).unwrap());
        let total: f64 = v.iter().sum();
        let top: f64 = v[..v.len() / 5].iter().sum();
        let share = top / total;
        eprintln!(
            "top 20% share {share}, lines per customer {}, orders {}",
            s.lines as f64 / s.customers as f64,
            s.orders
        );
        assert!((0.65..=0.80).contains(&share), "top 20% share {share}");
        assert!(channels.len() >= 4, "{channels:?}");
        let customers = read(dir.path(), "customers.csv");
        assert!(customers.contains(",opted_out,"), "some customers refused email");
        assert!(
            customers
                .lines()
                .filter(|l| !l.contains("_consent") && !l.contains(",opted_in,") && !l.contains(",opted_out,"))
                .count()
                > 0,
            "some never asked"
        );
        assert!(customers.lines().any(|l| l.contains("ACC-")), "some B2B contacts");
        let lines_per_customer = s.lines as f64 / s.customers as f64;
        assert!((5.0..=16.0).contains(&lines_per_customer), "{lines_per_customer}");
    }
}
