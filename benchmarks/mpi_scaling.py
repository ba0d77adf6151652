#!/usr/bin/python3
"""On-paper scaling of data-parallel training (benchmarks/run_mpi.sh).

From a step's measured compute time and gradient bytes, the efficiency of a
job of N machines, each computing a local batch in that time, with a ring
allreduce (Open MPI's algorithm for large buffers): every rank sends and
receives 2 (N - 1) / N of the buffer, plus 2 (N - 1) message latencies.

    mpi_scaling.py --step-ms 850 --gradient-bytes 23440768 [--latency-us 30]

Prints a Markdown table: machines x network, allreduce milliseconds and
efficiency (compute / (compute + exposed allreduce)) for one fused buffer
after the backward pass (what ocrcore does), for buckets overlapped with the
backward pass (hiding up to the backward's share of the step), and for bf16
gradients (half the bytes).
"""

import argparse


def allreduce_ms(machines: int, size: float, gbit_per_s: float, latency_us: float) -> float:
    if machines < 2:
        return 0.0
    bytes_per_s = gbit_per_s * 1e9 / 8
    traffic = 2 * (machines - 1) / machines * size / bytes_per_s
    return 1e3 * traffic + 2 * (machines - 1) * latency_us / 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--step-ms", type=float, required=True,
                        help="compute time of one step of a machine's local batch")
    parser.add_argument("--gradient-bytes", type=float, required=True)
    parser.add_argument("--backward-share", type=float, default=0.6,
                        help="share of a step spent in the backward pass (what overlap can hide)")
    parser.add_argument("--latency-us", type=float, default=30.0,
                        help="per-message latency (TCP on Ethernet)")
    parser.add_argument("--title", default="")
    args = parser.parse_args()

    step = args.step_ms
    hideable = args.backward_share * step
    if args.title:
        print(f"{args.title} (step {step:.0f} ms, gradient {args.gradient_bytes / 1e6:.1f} MB):")
        print()
    print("| machines | network | allreduce ms | efficiency, fused after backward | "
          "overlapped buckets | bf16 gradients, fused |")
    print("|---:|---|---:|---:|---:|---:|")
    for machines in (4, 16, 64):
        for gbit in (10, 25):
            ar = allreduce_ms(machines, args.gradient_bytes, gbit, args.latency_us)
            ar_bf16 = allreduce_ms(machines, args.gradient_bytes / 2, gbit, args.latency_us)
            fused = step / (step + ar)
            overlapped = step / (step + max(0.0, ar - hideable))
            bf16 = step / (step + ar_bf16)
            print(f"| {machines} | {gbit} Gb/s | {ar:.1f} | {100 * fused:.1f}% | "
                  f"{100 * overlapped:.1f}% | {100 * bf16:.1f}% |")


if __name__ == "__main__":
    main()
