// Fragmenter (sender) and single-buffer fragment assembler (receiver), protocol §5.

#include "mosh2/transport/fragment.hpp"

#include <stdexcept>

namespace mosh2::transport {
namespace {

constexpr std::uint16_t final_flag = 0x8000;

// The fields that decide whether an instruction gets a new id: everything but the diff.
// The extensions count: instructions that carry only stream frames all have the same
// main fields, and the receiver would take a new one for the last one again.
bool same_header(const instruction& a, const instruction& b) {
  return a.protocol_version == b.protocol_version && a.old_num == b.old_num &&
         a.new_num == b.new_num && a.ack_num == b.ack_num &&
         a.throwaway_num == b.throwaway_num && a.chaff == b.chaff && a.ext == b.ext;
}

}  // namespace

result<fragment, drop_reason> parse_fragment(bytes_view payload) {
  if (payload.size() < fragment_header_size) return failure{drop_reason::short_fragment};
  fragment f;
  f.id = get_be<8>(payload);
  const auto word = static_cast<std::uint16_t>(get_be<2>(payload.substr(8)));
  f.final = (word & final_flag) != 0;
  f.number = static_cast<std::uint16_t>(word & ~final_flag);
  f.chunk = payload.substr(fragment_header_size);
  return f;
}

bytes encode_fragment(std::uint64_t id, std::uint16_t number, bool final, bytes_view chunk) {
  bytes out;
  out.reserve(fragment_header_size + chunk.size());
  put_be<8>(out, id);
  put_be<2>(out, static_cast<std::uint16_t>(number | (final ? final_flag : 0)));
  out.append(chunk);
  return out;
}

std::vector<bytes> fragmenter::make_fragments(const instruction& in, std::size_t payload_budget) {
  if (payload_budget == 0) throw std::invalid_argument("fragmenter: payload budget is 0");
  const bytes compressed = compress(encode(in));
  // zlib output is never empty, so there is always at least one fragment.
  const std::size_t count = (compressed.size() + payload_budget - 1) / payload_budget;
  if (count > max_fragments)
    throw std::length_error("fragmenter: instruction needs more than 0x8000 fragments");

  if (!last_ || !same_header(*last_, in) || last_budget_ != payload_budget) {
    ++id_;
    last_ = in;
    last_->diff.clear();
    last_budget_ = payload_budget;
  }

  std::vector<bytes> out;
  out.reserve(count);
  const bytes_view all = compressed;
  for (std::size_t i = 0; i < count; ++i) {
    out.push_back(encode_fragment(id_, static_cast<std::uint16_t>(i), i + 1 == count,
                                  all.substr(i * payload_budget, payload_budget)));
  }
  return out;
}

result<std::optional<instruction>, drop_reason> fragment_assembler::drop(drop_reason why) {
  switch (why) {
    case drop_reason::short_fragment: break;  // add() counts these: they carry no id
    case drop_reason::inconsistent: ++stats_.inconsistent; break;
    case drop_reason::too_large: ++stats_.too_large; break;
    case drop_reason::bad_zlib: ++stats_.bad_zlib; break;
    case drop_reason::bad_protobuf: ++stats_.bad_protobuf; break;
  }
  // The whole id is given up: a stock sender never contradicts itself, so whatever
  // else arrives for it is as suspect as what was already held.
  parts_.clear();
  held_bytes_ = 0;
  count_.reset();
  finished_ = true;
  return failure{why};
}

result<std::optional<instruction>, drop_reason> fragment_assembler::add(bytes_view payload) {
  auto parsed = parse_fragment(payload);
  if (!parsed) {
    // It has no id, so it says nothing about the current assembly, which stays intact.
    ++stats_.short_fragment;
    return failure{parsed.error()};
  }
  const fragment& f = *parsed;

  if (id_ && f.id < *id_) {
    ++stats_.stale;
    return std::optional<instruction>{};
  }
  if (id_ != f.id) {
    if (!finished_ && !parts_.empty()) ++stats_.abandoned;
    id_ = f.id;
    finished_ = false;
    parts_.clear();
    held_bytes_ = 0;
    count_.reset();
  }
  if (finished_) {
    ++stats_.late;
    return std::optional<instruction>{};
  }

  if (auto held = parts_.find(f.number); held != parts_.end()) {
    // Same number again: the final flag must agree, the content is not compared.
    const bool held_final = count_ && *count_ == std::size_t{f.number} + 1;
    if (held_final != f.final) return drop(drop_reason::inconsistent);
    ++stats_.duplicates;
    return std::optional<instruction>{};
  }

  if (f.final) {
    if (count_) return drop(drop_reason::inconsistent);  // a second final, other number
    // A fragment numbered beyond the final one contradicts it.
    if (!parts_.empty() && parts_.rbegin()->first > f.number)
      return drop(drop_reason::inconsistent);
    count_ = std::size_t{f.number} + 1;
  } else if (count_ && f.number >= *count_) {
    return drop(drop_reason::inconsistent);
  }

  if (f.chunk.size() > max_assembly_size - held_bytes_) return drop(drop_reason::too_large);
  held_bytes_ += f.chunk.size();
  parts_.emplace(f.number, bytes(f.chunk));

  if (!count_ || parts_.size() < *count_) return std::optional<instruction>{};
  return complete();
}

result<std::optional<instruction>, drop_reason> fragment_assembler::complete() {
  bytes whole;
  whole.reserve(held_bytes_);
  for (const auto& [number, chunk] : parts_) whole += chunk;

  auto inflated = decompress(whole);
  if (!inflated) return drop(drop_reason::bad_zlib);
  auto decoded = decode_instruction(*inflated);
  if (!decoded) return drop(drop_reason::bad_protobuf);

  ++stats_.instructions;
  parts_.clear();
  held_bytes_ = 0;
  count_.reset();
  finished_ = true;
  return std::optional<instruction>{std::move(*decoded)};
}

}  // namespace mosh2::transport
