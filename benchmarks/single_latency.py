"""One drawing: median and best wall ms and median CPU ms of ``invert`` for one letter (20
experts) and one digit (10), 50 iterations, full record, the engine's threads, 21 runs; with the
load average (other work moves wall times). ``python -m benchmarks.single_latency``."""
import json, os, statistics, time, numba, numpy as np
from mic_core.bench import _processor
from mic_core.data import load_dataset
from mic_core.inversion import InversionConfig, invert
from mic_core.persistence import load_or_train
from mic_core.training import default_train_config
out = {**_processor(), "engine_threads": numba.get_num_threads(), "load_average_before": os.getloadavg()}
for ds in ("characters", "mnist"):
    data = load_dataset(ds); ex = load_or_train(data, default_train_config(ds))
    one = data.X_test[:1]
    invert(ex, data.X_test[:2]); invert(ex, one)
    wall, cpu = [], []
    for _ in range(21):
        s, c = time.perf_counter(), time.process_time()
        invert(ex, one, InversionConfig(), record="full")
        wall.append(1000 * (time.perf_counter() - s)); cpu.append(1000 * (time.process_time() - c))
    out[f"{ds}_single_ms_median"] = statistics.median(wall)
    out[f"{ds}_single_ms_min"] = min(wall)
    out[f"{ds}_single_cpu_ms_median"] = statistics.median(cpu)
out["load_average_after"] = os.getloadavg()
print(json.dumps(out, indent=1))
