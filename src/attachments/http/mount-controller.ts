import { Controller, UseGuards, type CanActivate, type Type } from '@nestjs/common';

/**
 * One of the module's controllers under its configured path (one class per forRoot call, since
 * a route's path is fixed on its class). The host's guards run after the class's own (the
 * cross-site guard: a refused origin costs no token check) and before any route resolves its
 * owner. The subclass inherits the constructor's parameter types through the prototype chain.
 */
export function mountController<T>(base: Type<T>, path: string, guards: Array<Type<CanActivate> | CanActivate>): Type<T> {
  const mounted = class extends (base as Type<object>) {} as Type<T>;
  Object.defineProperty(mounted, 'name', { value: `Mounted${base.name}` });
  Controller(path)(mounted);
  if (guards.length > 0) UseGuards(...guards)(mounted);
  return mounted;
}
