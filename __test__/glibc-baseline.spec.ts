// The Linux x64 binary is the one that ships (scripts/build-native.mjs links it against a glibc
// 2.17 sysroot), and it must load on glibc 2.17: every versioned symbol it needs from glibc is
// at most GLIBC_2.17. Read from the ELF's version-needs section (SHT_GNU_verneed), the table the
// dynamic loader checks at dlopen.
import test from 'ava'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const binary = join(__dirname, '..', 'flaxen.linux-x64-gnu.node')
const SHT_GNU_VERNEED = 0x6ffffffe

/** Every (library, version) pair an ELF64 little-endian shared object requires. */
function versionNeeds(elf: Buffer): { file: string; version: string }[] {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) throw new Error('not a 64-bit little-endian ELF')
  const shoff = Number(elf.readBigUInt64LE(0x28))
  const shentsize = elf.readUInt16LE(0x3a)
  const shnum = elf.readUInt16LE(0x3c)
  const section = (i: number) => {
    const o = shoff + i * shentsize
    return { type: elf.readUInt32LE(o + 4), offset: Number(elf.readBigUInt64LE(o + 0x18)), link: elf.readUInt32LE(o + 0x28), info: elf.readUInt32LE(o + 0x2c) }
  }
  const str = (base: number, at: number) => elf.toString('latin1', base + at, elf.indexOf(0, base + at))
  const needs: { file: string; version: string }[] = []
  for (let i = 0; i < shnum; i++) {
    const s = section(i)
    if (s.type !== SHT_GNU_VERNEED) continue
    const strtab = section(s.link).offset
    // Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32.
    // Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
    let need = s.offset
    for (let n = 0; n < s.info; n++) {
      const file = str(strtab, elf.readUInt32LE(need + 4))
      let aux = need + elf.readUInt32LE(need + 8)
      for (let a = 0; a < elf.readUInt16LE(need + 2); a++) {
        needs.push({ file, version: str(strtab, elf.readUInt32LE(aux + 8)) })
        aux += elf.readUInt32LE(aux + 12)
      }
      need += elf.readUInt32LE(need + 12)
    }
  }
  return needs
}

const glibc = (v: string) => v.slice('GLIBC_'.length).split('.').map(Number)
const newer = (a: number[], b: number[]) => (a[0] - b[0] || a[1] - b[1] || (a[2] ?? 0) - (b[2] ?? 0)) > 0

const linuxX64 = process.platform === 'linux' && process.arch === 'x64'
;(linuxX64 ? test : test.skip)('the linux-x64-gnu binary needs no glibc symbol newer than GLIBC_2.17', (t) => {
  const needs = versionNeeds(readFileSync(binary))
  const versions = needs.filter((n) => n.version.startsWith('GLIBC_')).map((n) => n.version)
  t.true(versions.length > 3, `found the version needs: ${versions.join(' ')}`)
  const newest = versions.reduce((a, b) => (newer(glibc(b), glibc(a)) ? b : a))
  t.log(`highest glibc symbol version: ${newest}`)
  t.false(newer(glibc(newest), [2, 17]), `${newest} is newer than GLIBC_2.17 (needs: ${[...new Set(versions)].join(' ')}); build with scripts/build-native.mjs, not FLAXEN_HOST_TOOLCHAIN`)
  // Only libc, libm, libpthread, libdl, libgcc_s and the loader: nothing that a slim image lacks.
  const libs = [...new Set(needs.map((n) => n.file))].sort()
  for (const lib of libs) t.regex(lib, /^(libc|libm|libpthread|libdl|librt|libgcc_s|ld-linux-x86-64)\.so\.\d+$/)
})

test('the version-needs reader sees a binary that needs more than glibc 2.17', (t) => {
  // The check above must be able to fail: node itself (built against a newer glibc) needs more.
  const versions = versionNeeds(readFileSync(process.execPath)).filter((n) => n.version.startsWith('GLIBC_'))
  t.true(versions.some((n) => newer(glibc(n.version), [2, 17])))
})
