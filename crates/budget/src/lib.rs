//! Pure token-budget logic: UTC windows, reservations and settlement over a storage trait.
