// An allocator for the flow meter's large, randomly accessed arrays (the flow table's records and
// hash index, the feature builder's pending records and heap): blocks of 4 MiB and more are mapped
// directly and advised as transparent huge pages before first touch, so lookups miss the TLB less
// often (the kernel's THP mode "madvise", Debian's default, gives huge pages only to such ranges).
// Smaller blocks come from operator new. Memory is still only used as it is touched.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <new>

namespace vigil {

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kMapAbove = size_t{4} << 20;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kMapAbove) {
      return static_cast<T*>(::operator new (bytes, std::align_val_t{alignof(T)}));
    }
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE);  // advice only: without THP the pages stay 4 KiB
#endif
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kMapAbove) {
      ::operator delete (p, std::align_val_t{alignof(T)});
      return;
    }
    munmap(p, bytes);
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
  template <typename U>
  bool operator!=(const HugePageAllocator<U>&) const {
    return false;
  }
};

}  // namespace vigil
