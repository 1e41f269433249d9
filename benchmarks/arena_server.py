"""Server time of the Compete page per drawing; ``python benchmarks/arena_server.py``.

Prints one JSON object (and writes it to ``benchmarks/results/arena_server.json``):
- inversion_seconds: median time of one target's classification (every expert, 50
  iterations, full record): the engine's work, cached per target by the page;
- page_seconds: median wall time of the whole Compete page script for a new target whose
  classification is already cached (AppTest run: widgets, verdict, fit quality, the player's
  data), i.e. the server's own Python per drawing besides the inversion; page_cpu_seconds:
  the processor time it used (the same, less the waiting on a busy machine);
- spec_seconds / spec_bytes: building the player's data and its JSON size (what goes to the
  browser per drawing);
- html_export_seconds / html_export_bytes: the standalone HTML export, built only when
  someone clicks its download button (not per drawing);
with the processor and the load average beside them (absolute times depend on both).
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                flags = Path("/proc/cpuinfo").read_text()
                return (line.split(":", 1)[1].strip() +
                        (" AVX-512" if "avx512f" in flags else " AVX2" if "avx2" in flags else ""))
    except OSError:
        pass
    return platform.processor()


def main(samples=(5, 40, 120, 300, 500)) -> dict:
    import warnings
    warnings.filterwarnings("ignore")
    from streamlit.testing.v1 import AppTest

    import cached
    from figures import arena_html, arena_spec
    from mic_core.inversion import InversionConfig
    results = {"cpu": _cpu(), "load_average_1min_before": os.getloadavg()[0]}
    for name in ("characters", "mnist"):
        data = cached.dataset(name)
        train = cached.default_train(name)
        experts = cached._experts(name, train)
        # the page's default inversion: the starts chosen on validation, the Adam-like step
        inversion = InversionConfig.with_options(cached.validated_starts(name, train)["starts"])
        inversions, pages, page_cpu, specs, sizes = [], [], [], [], []
        for i in samples:
            target = data.X_test[i]
            started = time.perf_counter()
            cached.classification(name, train, target, inversion)  # the page finds it cached
            inversions.append(time.perf_counter() - started)
            record = cached.classification(name, train, target, inversion)
            started = time.perf_counter()
            scale = None if data.standardiser is None else tuple(data.standardiser.std)
            spec = arena_spec(record, 0, true_index=int(data.y_test[i]), token="t",
                              scale=scale)  # as the page builds it
            text = json.dumps({"spec": spec})
            specs.append(time.perf_counter() - started)
            sizes.append(len(text))
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
            at.query_params.update({"dataset": name, "sample": str(i)})
            at.run()  # a first visit (data set, experts and thresholds loaded once)
            at.query_params.update({"dataset": name, "sample": str(i)})
            at2 = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
            at2.query_params.update({"dataset": name, "sample": str(i)})
            started, cpu = time.perf_counter(), time.process_time()
            at2.run()
            pages.append(time.perf_counter() - started)
            page_cpu.append(time.process_time() - cpu)
            assert not at2.exception, at2.exception
        started = time.perf_counter()
        html = arena_html(spec)
        results[name] = {
            "n_targets": len(samples), "n_experts": experts.n_experts,
            "inversion": {"starts": inversion.starts, "optimiser": inversion.optimiser},
            "inversion_seconds": statistics.median(inversions),
            "page_seconds": statistics.median(pages), "page_seconds_all": pages,
            "page_cpu_seconds": statistics.median(page_cpu),
            "spec_seconds": statistics.median(specs), "spec_bytes": int(statistics.median(sizes)),
            "html_export_seconds": time.perf_counter() - started,
            "html_export_bytes": len(html.encode()),
        }
    results["load_average_1min_after"] = os.getloadavg()[0]
    return results


if __name__ == "__main__":
    out = main()
    text = json.dumps(out, indent=2)
    print(text)
    (ROOT / "benchmarks" / "results" / "arena_server.json").write_text(text + "\n")
