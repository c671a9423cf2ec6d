// Issue 15's visitor program: many objects of a program class holding a string (the
// compiler gives the class a GC visitor, `holders/Holder~visit`), then a loop that
// allocates, so the collector runs visitors while the program is preemptible.
class Holder {
  constructor(public name: string) {}
}

export function main(): void {
  const holders = new Array<Holder>();
  for (let i = 0; i < 300; i++) holders.push(new Holder("holder " + i.toString()));
  let total = 0;
  for (let i = 0; i < 1000; i++) total += ("x" + i.toString()).length;
  console.log("holders " + holders.length.toString() + ", total " + total.toString() + ", last " + holders[299].name);
}
