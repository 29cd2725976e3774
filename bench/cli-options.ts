// The bench scripts' command-line options, `--name=value`.

/** The value of `--<name>=…` on this process's command line, if given. */
export const option = (name: string): string | undefined =>
  process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
