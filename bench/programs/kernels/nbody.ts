// n-body: five planets under gravity (floating-point work in a tight loop).
class Body {
  constructor(public x: f64, public y: f64, public z: f64, public vx: f64, public vy: f64, public vz: f64, public mass: f64) {}
}

const PI = 3.141592653589793;
const SOLAR_MASS = 4 * PI * PI;
const DAYS = 365.24;

function system(): StaticArray<Body> {
  const bodies = new StaticArray<Body>(5);
  bodies[0] = new Body(0, 0, 0, 0, 0, 0, SOLAR_MASS);
  bodies[1] = new Body(4.84143144246472090e0, -1.16032004402742839e0, -1.03622044471123109e-1, 1.66007664274403694e-3 * DAYS, 7.69901118419740425e-3 * DAYS, -6.90460016972063023e-5 * DAYS, 9.54791938424326609e-4 * SOLAR_MASS);
  bodies[2] = new Body(8.34336671824457987e0, 4.12479856412430479e0, -4.03523417114321381e-1, -2.76742510726862411e-3 * DAYS, 4.99852801234917238e-3 * DAYS, 2.30417297573763929e-5 * DAYS, 2.85885980666130812e-4 * SOLAR_MASS);
  bodies[3] = new Body(1.28943695621391310e1, -1.51111514016986312e1, -2.23307578892655734e-1, 2.96460137564761618e-3 * DAYS, 2.37847173959480950e-3 * DAYS, -2.96589568540237556e-5 * DAYS, 4.36624404335156298e-5 * SOLAR_MASS);
  bodies[4] = new Body(1.53796971148509165e1, -2.59193146099879641e1, 1.79258772950371181e-1, 2.68067772490389322e-3 * DAYS, 1.62824170038242295e-3 * DAYS, -9.51592254519715870e-5 * DAYS, 5.15138902046611451e-5 * SOLAR_MASS);
  return bodies;
}

function advance(bodies: StaticArray<Body>, dt: f64): void {
  const n = bodies.length;
  for (let i = 0; i < n; i++) {
    const a = bodies[i];
    for (let j = i + 1; j < n; j++) {
      const b = bodies[j];
      const dx = a.x - b.x, dy = a.y - b.y, dz = a.z - b.z;
      const d2 = dx * dx + dy * dy + dz * dz;
      const mag = dt / (d2 * Math.sqrt(d2));
      a.vx -= dx * b.mass * mag; a.vy -= dy * b.mass * mag; a.vz -= dz * b.mass * mag;
      b.vx += dx * a.mass * mag; b.vy += dy * a.mass * mag; b.vz += dz * a.mass * mag;
    }
  }
  for (let i = 0; i < n; i++) {
    const b = bodies[i];
    b.x += dt * b.vx; b.y += dt * b.vy; b.z += dt * b.vz;
  }
}

function energy(bodies: StaticArray<Body>): f64 {
  let e = 0.0;
  for (let i = 0; i < bodies.length; i++) {
    const a = bodies[i];
    e += 0.5 * a.mass * (a.vx * a.vx + a.vy * a.vy + a.vz * a.vz);
    for (let j = i + 1; j < bodies.length; j++) {
      const b = bodies[j];
      const dx = a.x - b.x, dy = a.y - b.y, dz = a.z - b.z;
      e -= (a.mass * b.mass) / Math.sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return e;
}

export function run(steps: i32): f64 {
  const bodies = system();
  for (let i = 0; i < steps; i++) advance(bodies, 0.01);
  return energy(bodies);
}

export function main(): void {}
