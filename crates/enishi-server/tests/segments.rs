//! Segments in the console: the customers list filtered by a saved segment, on SQLite and
//! PostgreSQL.

mod common;

use common::{apps, order};
use enishi_core::{BusinessClock, Role};
use enishi_segments::saved;
use enishi_segments::text::parse;

#[test]
fn the_customers_list_shows_a_saved_segments_members_only() {
    for app in apps() {
        for (id, customer, total) in
            [("S-1", "C-1", "57.40"), ("S-2", "C-1", "10.00"), ("S-3", "C-2", "57.40"), ("S-4", "C-3", "5.00")]
        {
            assert_eq!(app.admin("POST", "/api/v1/orders", Some(order(id, customer, total))).0, 201);
        }
        let calendar = BusinessClock::default();
        app._db
            .store
            .write(|c| {
                saved::create(c, "Repeat <buyers>", "", &parse("orders >= 2").unwrap(), &calendar)?;
                saved::create(c, "Big spenders", "", &parse("spend >= 50").unwrap(), &calendar)?;
                Ok::<_, enishi_segments::Error>(())
            })
            .unwrap();
        let cookie = app.session(Role::Marketer);
        let (status, all) = app.page("/customers", &cookie);
        assert_eq!(status, 200);
        assert!(all.contains(">C-1<") && all.contains(">C-2<") && all.contains(">C-3<"), "{all}");
        assert!(all.contains("Repeat &lt;buyers&gt;"), "the saved segments are offered, escaped");
        let (_, repeat) = app.page("/customers?saved=Repeat%20%3Cbuyers%3E", &cookie);
        assert!(repeat.contains(">C-1<") && !repeat.contains(">C-2<") && !repeat.contains(">C-3<"), "{repeat}");
        let (_, big) = app.page("/customers?saved=Big%20spenders&q=C-2", &cookie);
        assert!(big.contains(">C-2<") && !big.contains(">C-1<"), "a segment narrows a search: {big}");
        let (status, gone) = app.page("/customers?saved=Nope", &cookie);
        assert_eq!(status, 200);
        assert!(
            gone.contains("no segment named \"Nope\"") || gone.contains("no segment named &quot;Nope&quot;"),
            "{gone}"
        );
        assert!(!gone.contains(">C-1<"));
    }
}
