//! The shop's quiet hours: from the orders of the last weeks, by weekday and hour in the
//! business time zone, the recurring windows that usually bring the least revenue while the
//! shop trades — candidates for a happy-hour promotion.

use chrono::{DateTime, Datelike, Utc, Weekday};
use enishi_core::{Amount, BusinessClock};
use enishi_store::{params, Conn, StoreError};
use serde::Serialize;

/// A recurring weekly window and what it usually brings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuietWindow {
    /// The weekday, `mon` … `sun`.
    pub weekday: &'static str,
    /// First hour (local, inclusive), 0–23.
    pub from_hour: u32,
    /// Hour it ends (local, exclusive), 1–24.
    pub until_hour: u32,
    /// Orders in the window per week, on average.
    pub orders_per_week: f64,
    /// Revenue in the window per week, on average.
    pub revenue_per_week: Amount,
    /// The window's share of that weekday's revenue, 0–1.
    pub share_of_day: f64,
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// The `count` quietest windows of `hours` hours, at most one per weekday, from the orders of
/// the `weeks` whole weeks before `now`: within the hours the shop trades on that weekday
/// (from the first to the last hour with any order in those weeks), the window whose revenue is
/// lowest (on a tie, the earlier one). Weekdays with less trading than `hours` are left out;
/// nothing is suggested from fewer than two weeks of orders.
pub fn quiet_windows(
    c: &mut dyn Conn,
    clock: &BusinessClock,
    now: DateTime<Utc>,
    weeks: i64,
    hours: u32,
    count: usize,
) -> Result<Vec<QuietWindow>, StoreError> {
    if weeks < 2 || !(1..=12).contains(&hours) {
        return Ok(Vec::new());
    }
    let since = now.timestamp() - weeks * 7 * 86_400;
    let rows = c.query(
        "SELECT placed_at, total FROM orders WHERE placed_at >= $1 AND placed_at < $2",
        params![since, now.timestamp()],
    )?;
    // (orders, revenue in 1/10,000) by weekday and hour.
    let mut grid = [[(0i64, 0i64); 24]; 7];
    for r in &rows {
        let at = enishi_store::instant(r.int(0)?);
        let local = clock.local_datetime(at);
        let cell = &mut grid[local.weekday().num_days_from_monday() as usize][clock.local_hour(at) as usize];
        cell.0 += 1;
        cell.1 = cell.1.saturating_add(r.int(1)?);
    }
    Ok(quietest(&grid, weeks, hours, count))
}

/// [`quiet_windows`] over a grid of (orders, revenue) by weekday (Monday first) and hour.
fn quietest(grid: &[[(i64, i64); 24]; 7], weeks: i64, hours: u32, count: usize) -> Vec<QuietWindow> {
    let mut found = Vec::new();
    for (day, cells) in grid.iter().enumerate() {
        let trading: Vec<usize> = (0..24).filter(|&h| cells[h].0 > 0).collect();
        let (Some(&first), Some(&last)) = (trading.first(), trading.last()) else { continue };
        let span = hours as usize;
        if last + 1 - first < span {
            continue;
        }
        let day_revenue: i64 = cells.iter().map(|c| c.1).sum();
        let window = |start: usize| {
            cells[start..start + span].iter().fold((0i64, 0i64), |(o, r), c| (o + c.0, r.saturating_add(c.1)))
        };
        let Some(start) = (first..=last + 1 - span).min_by_key(|&s| (window(s).1, s)) else { continue };
        let (orders, revenue) = window(start);
        found.push(QuietWindow {
            weekday: WEEKDAYS[day],
            from_hour: start as u32,
            until_hour: (start + span) as u32,
            orders_per_week: orders as f64 / weeks as f64,
            // In cents (or yen): a weekly mean to 1/10,000 is noise.
            revenue_per_week: Amount::from_scaled((revenue / weeks + 50) / 100 * 100),
            share_of_day: if day_revenue > 0 { revenue as f64 / day_revenue as f64 } else { 0.0 },
        });
    }
    found.sort_by(|a, b| a.revenue_per_week.cmp(&b.revenue_per_week).then(a.share_of_day.total_cmp(&b.share_of_day)));
    found.truncate(count);
    found
}

/// The weekday of a [`QuietWindow`] as chrono's.
pub fn weekday_of(name: &str) -> Option<Weekday> {
    WEEKDAYS.iter().position(|w| *w == name).and_then(|i| Weekday::try_from(i as u8).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quietest_window_of_each_trading_day_is_found_and_ranked() {
        let mut grid = [[(0i64, 0i64); 24]; 7];
        // Tuesdays trade 9:00–18:00, busy except 14:00–17:00.
        grid[1][9..18].fill((8, 8 * 1_000 * 10_000));
        grid[1][14..17].fill((2, 2 * 500 * 10_000));
        // Saturdays trade 10:00–13:00 only, all busy.
        grid[5][10..13].fill((20, 20 * 1_000 * 10_000));
        // Sundays trade one hour: too short for a 3-hour window.
        grid[6][12] = (1, 10_000);
        let found = quietest(&grid, 4, 3, 5);
        assert_eq!(found.len(), 2, "{found:?}");
        let tue = &found[0];
        assert_eq!((tue.weekday, tue.from_hour, tue.until_hour), ("tue", 14, 17));
        assert_eq!(tue.orders_per_week, 1.5);
        assert_eq!(tue.revenue_per_week, Amount::from_scaled(3 * 1_000 * 10_000 / 4));
        assert!((tue.share_of_day - 3_000.0 / (6.0 * 8_000.0 + 3_000.0)).abs() < 1e-9);
        assert_eq!((found[1].weekday, found[1].from_hour), ("sat", 10));
        assert_eq!(quietest(&grid, 4, 3, 1).len(), 1, "at most count");
        assert_eq!(weekday_of("tue"), Some(Weekday::Tue));
    }
}
