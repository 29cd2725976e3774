// Every type a host can touch through the package's entries is exported from one of them: a
// type named only inside the package (a method's parameter or result) would leave users to
// import from `dist/...` or to copy it. Read from the built declaration files, as a consumer's
// compiler reads them.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import ts from 'typescript';

const built = resolve(import.meta.dirname, '../../src/attachments');
const ENTRIES = ['index', 'cli', 'openapi', 's3'].map((name) => resolve(built, `${name}.d.ts`));

/** Names of types that public declarations use but no entry exports, with who uses them. */
function unexportedTypes(): string[] {
  const program = ts.createProgram(ENTRIES, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const real = (symbol: ts.Symbol) => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);
  const exported = new Set(
    ENTRIES.flatMap((entry) => checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!).map(real)),
  );
  const inPackage = (node: ts.Node) => node.getSourceFile().fileName.startsWith(built);
  const hidden = (node: ts.Node) =>
    ts.getCombinedModifierFlags(node as ts.Declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected) ||
    ts.getJSDocTags(node).some((tag) => tag.tagName.text === 'internal');
  const missing = new Set<string>();
  const visited = new Set<ts.Symbol>();
  const visit = (symbol: ts.Symbol, usedBy: string) => {
    if (visited.has(symbol)) return;
    visited.add(symbol);
    for (const declaration of symbol.declarations ?? []) {
      if (!inPackage(declaration)) continue;
      const walk = (node: ts.Node): void => {
        // The base class a ConfigurableModuleBuilder makes (its members are the module's own),
        // and constructors, which Nest's injector calls, not hosts.
        if (ts.isHeritageClause(node) || ts.isConstructorDeclaration(node)) return;
        if (node !== declaration && hidden(node)) return;
        if (ts.isTypeReferenceNode(node)) {
          const referenced = checker.getSymbolAtLocation(node.typeName);
          const target = referenced && real(referenced);
          const where = target?.declarations?.[0];
          if (target && where && inPackage(where) && !ts.isTypeParameterDeclaration(where)) {
            if (!exported.has(target)) missing.add(`${target.name} (used by ${usedBy})`);
            visit(target, target.name);
          }
        }
        ts.forEachChild(node, walk);
      };
      walk(declaration);
    }
  };
  for (const symbol of exported) visit(symbol, symbol.name);
  return [...missing].sort();
}

describe("the package's public types", () => {
  test('every type named by a public declaration of an entry is exported from an entry', () => {
    assert.deepEqual(unexportedTypes(), []);
  });
});
