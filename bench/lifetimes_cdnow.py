"""The anchor of the CLV benchmark: the same work as `enishi analyze clv` done with the Python
`lifetimes` package (0.11.3) on CDNOW_master: read the purchases, summarise calibration and
holdout, fit BG/NBD and Gamma-Gamma, and write per-customer predictions.

    pip install lifetimes==0.11.3
    python3 bench/lifetimes_cdnow.py fixtures/cdnow/CDNOW_master.txt /tmp/lifetimes.csv
"""
import sys
import time
import warnings

warnings.filterwarnings("ignore")
started = time.perf_counter()

import pandas as pd  # noqa: E402
from lifetimes import BetaGeoFitter, GammaGammaFitter  # noqa: E402
from lifetimes.utils import calibration_and_holdout_data  # noqa: E402

source, out = sys.argv[1], sys.argv[2]
tx = pd.read_csv(source, sep=r"\s+", skiprows=1, header=None, names=["id", "date", "cds", "value"], dtype={"id": str, "date": str})
tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
summary = calibration_and_holdout_data(
    tx, "id", "date", calibration_period_end="1997-09-30", observation_period_end="1998-06-30",
    freq="W", freq_multiplier=1, monetary_value_col="value",
)
bg = BetaGeoFitter()
bg.fit(summary["frequency_cal"], summary["recency_cal"], summary["T_cal"])
repeat = summary[(summary["frequency_cal"] > 0) & (summary["monetary_value_cal"] > 0)]
gg = GammaGammaFitter()
gg.fit(repeat["frequency_cal"], repeat["monetary_value_cal"])
horizon = summary["duration_holdout"].iloc[0]
summary["expected_purchases"] = bg.conditional_expected_number_of_purchases_up_to_time(
    horizon, summary["frequency_cal"], summary["recency_cal"], summary["T_cal"])
summary["p_alive"] = bg.conditional_probability_alive(summary["frequency_cal"], summary["recency_cal"], summary["T_cal"])
summary["expected_avg_value"] = gg.conditional_expected_average_profit(summary["frequency_cal"], summary["monetary_value_cal"])
summary["clv"] = gg.customer_lifetime_value(
    bg, summary["frequency_cal"], summary["recency_cal"], summary["T_cal"], summary["monetary_value_cal"],
    time=12, discount_rate=0.01, freq="W")
summary.to_csv(out)
elapsed = time.perf_counter() - started
print(f"lifetimes: {len(summary)} customers, r={bg.params_['r']:.4f} alpha={bg.params_['alpha']:.4f} "
      f"a={bg.params_['a']:.4f} b={bg.params_['b']:.4f}, p={gg.params_['p']:.4f} q={gg.params_['q']:.4f} "
      f"v={gg.params_['v']:.4f}; {elapsed:.2f} s end to end")
