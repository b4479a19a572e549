/**
 * How `swarmup ssh NAME ...` reads what follows NAME, as docker-machine did: nothing after the machine
 * name is a swarmup option. Leading dash words are ssh(1) options (`ssh NAME -C echo foo` compresses,
 * `ssh NAME -L 8080:localhost:80` forwards), `--` ends them, and the first other word starts the remote
 * command, passed on verbatim: `ssh NAME df -h`, `ssh NAME docker swarm join --token T 10.0.0.2:2377`.
 */
import { UserError } from '../errors.js';

/** ssh(1)'s option letters that take a value (its getopt string), and those that do not. */
const WITH_VALUE = 'BbcDEeFIiJLlmOoPpQRSWw';
const SWITCHES = '46AaCfGgKkMNnqsTtVvXxYy';

/**
 * Options that only shape the connection (address family, compression, verbosity, terminal, agent and
 * X11 forwarding, ssh_config options): meaningless where OpenSSH is not used (the docker driver,
 * --native-ssh), so ignored there. The others (forwarding, another user, port, key, jump host...)
 * change what the command does and need the OpenSSH client.
 */
const CONNECTION_ONLY = new Set('46AaCgKkqTtvXxYycmEo');

export interface SshArgs {
  /** The ssh(1) options, as typed (values included), for the OpenSSH client. */
  options: string[];
  /** The option letters seen, in order. */
  letters: string[];
  /** The remote command's words; empty for an interactive login. */
  command: string[];
}

/** Split the words after the machine name into ssh(1) options and the remote command. */
export function splitSshArgs(words: readonly string[]): SshArgs {
  const options: string[] = [];
  const letters: string[] = [];
  let i = 0;
  for (; i < words.length; i++) {
    const w = words[i];
    if (w === '--') {
      i++;
      break;
    }
    if (!w.startsWith('-') || w === '-') break;
    if (w.startsWith('--')) {
      throw new UserError(
        `unknown ssh option "${w}": options after the machine name are ssh(1)'s; put "--" before a command that starts with "-"`,
      );
    }
    options.push(w);
    for (let j = 1; j < w.length; j++) {
      const c = w[j];
      if (WITH_VALUE.includes(c)) {
        letters.push(c);
        if (j === w.length - 1) {
          if (i + 1 >= words.length) throw new UserError(`ssh option -${c} needs a value`);
          options.push(words[++i]);
        }
        break;
      }
      if (!SWITCHES.includes(c)) {
        throw new UserError(
          `unknown ssh option -${c} (in "${w}"): options after the machine name are ssh(1)'s; put "--" before a command that starts with "-"`,
        );
      }
      letters.push(c);
    }
  }
  return { options, letters, command: words.slice(i) };
}

/**
 * The options that need the OpenSSH client, for a transport that is not OpenSSH (`why` says which);
 * the connection-only ones are dropped. Throws for the first that cannot be honoured.
 */
export function requireNoSshOptions(args: SshArgs, why: string): void {
  const bad = args.letters.find((c) => !CONNECTION_ONLY.has(c));
  if (bad) throw new UserError(`ssh option -${bad} needs the OpenSSH client, which ${why}`);
}

/** The remote command line: the words joined by spaces, for the remote shell to parse, as ssh(1) does. */
export function remoteCommand(command: readonly string[]): string {
  return command.join(' ');
}

/** Global options that take a value: the word after them is theirs, not a command or machine name. */
const GLOBAL_WITH_VALUE = new Set(['-s', '--storage-path', '--github-api-token', '--bugsnag-api-token']);

/**
 * Cut `swarmup [globals] ssh [options] NAME WORDS...` after NAME, so that the words never reach the
 * option parser. Returns the argv to parse and the words, or `rest: undefined` for any other verb (and
 * for `ssh --help`, which the parser answers).
 */
export function splitVerbatim(argv: readonly string[]): { argv: string[]; rest?: string[] } {
  const whole = { argv: [...argv] };
  let i = 2;
  const skipOptions = (): boolean => {
    for (; i < argv.length && argv[i].startsWith('-') && argv[i] !== '-'; i++) {
      const a = argv[i];
      if (a === '--' || a === '-h' || a === '--help') return false;
      if (GLOBAL_WITH_VALUE.has(a)) i++;
    }
    return true;
  };
  if (!skipOptions() || argv[i] !== 'ssh') return whole;
  i++;
  if (!skipOptions()) return whole;
  if (i >= argv.length) return { argv: [...argv], rest: [] };
  return { argv: argv.slice(0, i + 1), rest: argv.slice(i + 1) };
}
