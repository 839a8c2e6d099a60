//! The generated product catalogue: categories with price levels, popularity and the
//! categories they are bought with.

use rand::distributions::{Distribution, WeightedIndex};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::io::Write;

/// A product category of the generated shop.
struct Category {
    name: &'static str,
    base_price: f64,
    popularity: f64,
    /// Categories bought together with this one (indexes into [`CATEGORIES`]).
    bought_with: &'static [usize],
    nouns: &'static [&'static str],
}

const fn cat(
    name: &'static str,
    base_price: f64,
    popularity: f64,
    bought_with: &'static [usize],
    nouns: &'static [&'static str],
) -> Category {
    Category { name, base_price, popularity, bought_with, nouns }
}

const CATEGORIES: &[Category] = &[
    cat(
        "coffee",
        14.0,
        10.0,
        &[1, 3, 5],
        &["Ethiopia Beans", "Colombia Beans", "House Blend", "Decaf Blend", "Espresso Roast", "Kenya Beans"],
    ),
    cat("filters", 5.0, 4.0, &[0, 2], &["Paper Filters", "Cloth Filter", "Filter Pack"]),
    cat("brewers", 45.0, 1.5, &[0, 1, 3], &["Pour-over Dripper", "French Press", "Hand Grinder", "Kettle"]),
    cat("mugs", 16.0, 3.0, &[0, 4], &["Stoneware Mug", "Glass Cup", "Travel Tumbler", "Cup & Saucer"]),
    cat("tea", 11.0, 5.0, &[3, 5], &["Sencha", "Hojicha", "Earl Grey", "Genmaicha", "Matcha"]),
    cat("sweets", 6.0, 7.0, &[0, 4], &["Butter Cookies", "Dorayaki", "Chocolate Bar", "Castella", "Biscotti"]),
    cat("books", 18.0, 1.0, &[0, 4], &["Brewing Guide", "Tea Handbook"]),
    cat("kitchen", 24.0, 1.5, &[3, 2], &["Canister", "Scale", "Tray"]),
    cat("gift_cards", 30.0, 0.8, &[], &["Gift Card"]),
    cat("apparel", 28.0, 0.7, &[3], &["Apron", "Tote Bag", "T-shirt"]),
];

/// A product of the catalogue.
#[derive(Debug, Clone)]
pub struct Item {
    /// SKU.
    pub sku: String,
    /// Name.
    pub name: String,
    /// Category index.
    pub category: usize,
    /// Price, two decimals.
    pub price: String,
    price_value: f64,
}

/// One generated order line.
#[derive(Debug, Clone)]
pub struct Line {
    /// SKU.
    pub sku: String,
    /// Units.
    pub quantity: u32,
    /// Unit price, two decimals.
    pub unit_price: String,
    /// Category name.
    pub category: &'static str,
}

/// The products, grouped by category, with popularity within each.
pub struct Catalogue {
    items: Vec<Item>,
    by_category: Vec<Vec<usize>>,
    within: Vec<WeightedIndex<f64>>,
    category_pick: WeightedIndex<f64>,
}

impl Catalogue {
    /// Builds the catalogue: a few sizes or variants of every product noun.
    pub fn new(rng: &mut ChaCha8Rng) -> Self {
        let mut items = Vec::new();
        let mut by_category = vec![Vec::new(); CATEGORIES.len()];
        for (ci, category) in CATEGORIES.iter().enumerate() {
            for (ni, noun) in category.nouns.iter().enumerate() {
                for (vi, variant) in ["", " Large", " Gift Set"].iter().enumerate() {
                    if vi == 2 && rng.gen::<f64>() < 0.5 {
                        continue;
                    }
                    let factor = [1.0, 1.8, 2.6][vi] * rng.gen_range(0.8..1.25);
                    let value = (category.base_price * factor * 100.0).round() / 100.0;
                    by_category[ci].push(items.len());
                    items.push(Item {
                        sku: format!("{}-{:02}{}", category.name[..3].to_uppercase(), ni + 1, ["S", "L", "G"][vi]),
                        name: format!("{noun}{variant}"),
                        category: ci,
                        price: format!("{value:.2}"),
                        price_value: value,
                    });
                }
            }
        }
        // Within a category the first products sell best (a Zipf-like tail).
        let within = by_category
            .iter()
            .map(|ids| WeightedIndex::new((0..ids.len()).map(|i| 1.0 / (i as f64 + 1.0))).expect("non-empty category"))
            .collect();
        let category_pick = WeightedIndex::new(CATEGORIES.iter().map(|c| c.popularity)).expect("weights");
        Catalogue { items, by_category, within, category_pick }
    }

    /// Number of products.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no products.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Writes products.csv.
    pub fn write_csv(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out, "sku,name,category,price,currency")?;
        for i in &self.items {
            writeln!(out, "{},{},{},{},USD", i.sku, i.name, CATEGORIES[i.category].name, i.price)?;
        }
        Ok(())
    }

    /// A customer's favourite category, by popularity.
    pub fn favourite_category(&self, rng: &mut ChaCha8Rng) -> usize {
        self.category_pick.sample(rng)
    }

    fn pick(&self, rng: &mut ChaCha8Rng, category: usize) -> &Item {
        let ids = &self.by_category[category];
        &self.items[ids[self.within[category].sample(rng)]]
    }

    /// The product usually bought with `sku`: one fixed product of its category's first
    /// companion category.
    fn companion(&self, sku: &str) -> Option<&Item> {
        let (index, item) = self.items.iter().enumerate().find(|(_, i)| i.sku == sku)?;
        let target = *CATEGORIES[item.category].bought_with.first()?;
        let position = self.by_category[item.category].iter().position(|&i| i == index)?;
        let ids = &self.by_category[target];
        Some(&self.items[ids[(position * 7 + 3) % ids.len()]])
    }

    /// A basket worth about `budget`: mostly the favourite category, then what goes with it.
    pub fn basket(&self, rng: &mut ChaCha8Rng, favourite: usize, budget: f64) -> Vec<Line> {
        let first = if rng.gen::<f64>() < 0.6 { favourite } else { self.category_pick.sample(rng) };
        let mut lines: Vec<Line> = Vec::new();
        let mut spent = 0.0;
        let mut category = first;
        while lines.len() < 6 {
            // The second line is often the first one's companion (beans → their filter): the
            // product-level affinity that recommendations should find.
            let item = match lines.first() {
                Some(l) if lines.len() == 1 && rng.gen::<f64>() < 0.6 => {
                    self.companion(&l.sku).unwrap_or_else(|| self.pick(rng, category))
                }
                _ => self.pick(rng, category),
            };
            if lines.iter().any(|l| l.sku == item.sku) {
                break;
            }
            let room = ((budget - spent) / item.price_value).floor().clamp(1.0, 4.0) as u32;
            let quantity = rng.gen_range(1..=room.min(2));
            spent += item.price_value * f64::from(quantity);
            lines.push(Line {
                sku: item.sku.clone(),
                quantity,
                unit_price: item.price.clone(),
                category: CATEGORIES[item.category].name,
            });
            if spent >= budget * rng.gen_range(0.7..1.0) {
                break;
            }
            let with = CATEGORIES[first].bought_with;
            category = if !with.is_empty() && rng.gen::<f64>() < 0.75 {
                with[rng.gen_range(0..with.len())]
            } else {
                self.category_pick.sample(rng)
            };
        }
        lines
    }
}
