// `corebpf merge a.json b.json ...`: join `corebpf check --shard I/N --json` reports.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CorebpfError } from '../errors.js';
import { mergeReports } from '../check/merge.js';
import { parseReport } from '../check/report.js';
import { formatSummary } from '../check/text.js';
import { CliUsageError } from './common.js';
import { reportStatus, writeOutputs } from '../check/outputs.js';

export const MERGE_HELP = `usage: corebpf merge REPORT.json... [--json FILE] [--junit FILE] [--html FILE]

Join the JSON reports of 'corebpf check --shard I/N' runs into one report, as one unsharded
run would have written it. Refuses reports that checked different objects (or different
bytes under one name), different expectations, the same kernel twice, or shards that do not
add up to the whole kernel list.

  --json FILE            the merged report as JSON
  --junit FILE           JUnit XML: a testsuite per kernel, a testcase per object:program
  --html FILE            one self-contained HTML page: heat map of programs × kernels
  --allow-partial        merge even when shards are missing
  --strict               also fail on unexpected passes and on expectations that matched nothing
  -v, --verbose          list every expected failure in the summary
  -h, --help             this text

Exit status: 0 no unexpected failure, 1 unexpected failures (as check), 2 bad input or
reports that cannot be merged.`;

export async function mergeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'string' },
      junit: { type: 'string' },
      html: { type: 'string' },
      'allow-partial': { type: 'boolean' },
      strict: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(MERGE_HELP);
    return 0;
  }
  if (!positionals.length) throw new CliUsageError(`merge needs at least one REPORT.json\n\n${MERGE_HELP}`);
  const reports = positionals.map((p) => {
    let text: string;
    try {
      text = readFileSync(p, 'utf8');
    } catch (e) {
      throw new CorebpfError(`cannot read report '${p}': ${(e as Error).message}`, { path: p }, { cause: e });
    }
    return parseReport(text, p);
  });
  const merged = mergeReports(reports, positionals, { allowPartial: values['allow-partial'] === true });
  const written = writeOutputs(merged, { json: values.json, junit: values.junit, html: values.html });
  console.log(formatSummary(merged, { verbose: values.verbose }));
  for (const w of written) console.log(w);
  const partial = values['allow-partial'] === true && merged.shards.length < (merged.shards[0]?.count ?? 1);
  return reportStatus(merged, values.strict === true, partial);
}
