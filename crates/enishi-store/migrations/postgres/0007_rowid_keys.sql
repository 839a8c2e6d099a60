-- SQLite only (its tables keyed by one integer become rowid tables); nothing changes here.
SELECT 1;
