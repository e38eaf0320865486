// Fuzz target: one raw ZeroMQ frame through decodeMessage(), as the coordinator and the
// agent decode every frame they receive (protocol/messages.h). What encodeMessage() makes
// of a frame that decodes must decode again: a message this side accepted can be sent on
// and stored. Not checked: that it decodes to an equal message or encodes to the same
// bytes. A reader may accept what the writer leaves out (LOG_DATA's `message` without an
// `error`), and Boost.JSON 1.81 reads some doubles one unit in the last place off
// ("1.12E25" is written back as "1.1199999999999999E25"), so neither holds for every
// frame. A frame that does not decode must still give an ERROR reply.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "protocol/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view frame(reinterpret_cast<const char*>(data), size);
  std::variant<aifed::Message, aifed::DecodeFailure> decoded = aifed::decodeMessage(frame);
  if (auto* failure = std::get_if<aifed::DecodeFailure>(&decoded)) {
    (void)aifed::encodeMessage(aifed::makeMessage("coordinator", "fuzz", aifed::Time{},
                                                  aifed::errorFor(*failure)));
    return 0;
  }
  const aifed::Message& message = std::get<aifed::Message>(decoded);
  std::string encoded = aifed::encodeMessage(message);
  std::variant<aifed::Message, aifed::DecodeFailure> again = aifed::decodeMessage(encoded);
  // What this side encodes, the other side must decode.
  if (auto* failure = std::get_if<aifed::DecodeFailure>(&again)) {
    std::fprintf(stderr, "encoded:\n%s\ndoes not decode: %s\n", encoded.c_str(),
                 failure->status.toString().c_str());
    abort();
  }
  return 0;
}
