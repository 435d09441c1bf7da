// What the figures were measured on: they only compare within one run, but people compare runs.
import { cpus, loadavg, platform, release, totalmem } from 'node:os';

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGb: number;
  readonly os: string;
  readonly node: string;
  readonly date: string;
  /** 1, 5 and 15 minute load averages when the run started (the machine may be shared). */
  readonly loadAverage: readonly number[];
  /** The same when it ended. */
  readonly loadAverageEnd?: readonly number[];
}

const load = () => loadavg().map((n) => Math.round(n * 100) / 100);

/** `2 × AMD EPYC, 23.5 GB, load 1.20/0.90/0.70 → 1.50/1.10/0.80, Node v20.20.2, linux 6.1` */
export function describeMachine(m: MachineInfo): string {
  const l = (a: readonly number[]) => a.map((n) => n.toFixed(2)).join('/');
  const loads = m.loadAverageEnd ? `${l(m.loadAverage)} → ${l(m.loadAverageEnd)}` : l(m.loadAverage);
  return `${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB, load ${loads}, Node ${m.node}, ${m.os}`;
}

export function finishMachineInfo(m: MachineInfo): MachineInfo {
  return { ...m, loadAverageEnd: load() };
}

export function machineInfo(now = new Date()): MachineInfo {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()}`,
    node: process.version,
    date: now.toISOString(),
    loadAverage: load(),
  };
}
