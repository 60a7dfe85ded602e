// `glassbox eval CHECKPOINT "12345678+87654321="`: the model's answer, token by token.

import { Command } from 'commander';
import { loadAdditionModel, solveProblem } from '../experiments/addition-model.js';

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description("ask a trained addition checkpoint for a sum and show each answer token's probability")
    .argument('<checkpoint>', 'a .safetensors checkpoint written by `glassbox run addition`')
    .argument('<problem>', 'a problem like 12345678+87654321= (operands of the checkpoint\'s digit count)')
    .option('--json', 'print the answer as JSON')
    .action((checkpoint: string, problem: string, flags: { json?: boolean }) => {
      const { model, task } = loadAdditionModel(checkpoint);
      const r = solveProblem(model, task, problem);
      if (flags.json) {
        process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        return;
      }
      const lines = [`${r.problem}${r.answer}  ${r.correct ? '(correct)' : `(wrong: expected ${r.expected})`}`, `answer written ${task.answerOrder === 'lsf' ? 'least' : 'most'}-significant digit first:`];
      for (const t of r.tokens) lines.push(`  ${t.token}  p=${t.prob.toFixed(6)}`);
      process.stdout.write(lines.join('\n') + '\n');
    });
}
