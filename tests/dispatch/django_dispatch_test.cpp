// A port of Django's tests/dispatch/tests.py (notes §4.1), one TEST per Django test, same names.
// Django's module fixtures become: receiver_1_arg (a function), Callable (a callable class with
// a method `a`), and one signal per test whose receivers take `val` (a string) as Django's do.
// "clean" (assertTestIsClean) is tocsin_test::is_clean: no listeners, no receivers, none listed.
#include <tocsin/dispatch.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

// Django's `object` (the type) used as a sender that is never the one sending.
struct Object {};

namespace {
namespace django_dispatch_test {

using tocsin::Connection;
using tocsin::Sender;
using tocsin::Signal;
using tocsin_test::Connectable;
using tocsin_test::ErrorRecorder;
using tocsin_test::is_clean;
using tocsin_test::Log;
using tocsin_test::ProcessErrorLogger;
using tocsin_test::Strings;
using tocsin_test::what_of;

using ValSignal = Signal<std::string(const std::string& val)>;

std::string receiver_1_arg(const std::string& val) {
    return val;
}

struct Callable {
    std::string operator()(const std::string& val) const { return val; }
    std::string a(const std::string& val) const { return val; }
};

// ------------------------------------------------------------------ DispatcherTests

// Django: DispatcherTests.test_cannot_connect_no_kwargs. Django rejects (in DEBUG) a receiver
// that cannot take the signal's arguments; in C++ such a connect() does not compile, which a
// constrained connect() lets us observe.
TEST(DispatcherTests, test_cannot_connect_no_kwargs) {
    ValSignal a_signal;
    auto receiver_no_kwargs = [](const Sender&, const std::vector<int>&) { return std::string(); };
    auto receiver_too_many = [](const std::string&, int) { return std::string(); };
    EXPECT_FALSE((Connectable<ValSignal, decltype(receiver_no_kwargs)>));
    EXPECT_FALSE((Connectable<ValSignal, decltype(receiver_too_many)>));
    EXPECT_TRUE((Connectable<ValSignal, decltype(&receiver_1_arg)>));  // the control
    EXPECT_TRUE(is_clean(a_signal));
}

// Django: DispatcherTests.test_cannot_connect_non_callable
TEST(DispatcherTests, test_cannot_connect_non_callable) {
    ValSignal a_signal;
    EXPECT_FALSE((Connectable<ValSignal, int>));
    EXPECT_FALSE((Connectable<ValSignal, std::string>));
    EXPECT_TRUE((Connectable<ValSignal, Callable>));  // the control
    EXPECT_TRUE(is_clean(a_signal));
}

// Django: DispatcherTests.test_send
TEST(DispatcherTests, test_send) {
    ValSignal a_signal;
    const Connection receiver = a_signal.connect(&receiver_1_arg, {.sender = Sender::object(this)});
    const auto result = a_signal.send(Sender::object(this), "test");
    ASSERT_EQ(result.size(), 1u);
    EXPECT_EQ(result[0].receiver, receiver);
    EXPECT_EQ(result[0].value, "test");
    EXPECT_TRUE(a_signal.disconnect(&receiver_1_arg, Sender::object(this)));
    EXPECT_TRUE(is_clean(a_signal));
}

// Django: DispatcherTests.test_send_no_receivers
TEST(DispatcherTests, test_send_no_receivers) {
    const ValSignal a_signal;
    EXPECT_TRUE(a_signal.send(Sender::object(this), "test").empty());
}

// Django: DispatcherTests.test_send_connected_no_sender
TEST(DispatcherTests, test_send_connected_no_sender) {
    ValSignal a_signal;
    const Connection receiver = a_signal.connect(&receiver_1_arg);
    const auto result = a_signal.send(Sender::object(this), "test");
    ASSERT_EQ(result.size(), 1u);
    EXPECT_EQ(result[0].receiver, receiver);
    EXPECT_EQ(result[0].value, "test");
    EXPECT_TRUE(a_signal.disconnect(&receiver_1_arg));
    EXPECT_TRUE(is_clean(a_signal));
}

// Django: DispatcherTests.test_send_different_no_sender
TEST(DispatcherTests, test_send_different_no_sender) {
    ValSignal a_signal;
    a_signal.connect(&receiver_1_arg, {.sender = Sender::of<Object>()});
    EXPECT_TRUE(a_signal.send(Sender::object(this), "test").empty());
    EXPECT_TRUE(a_signal.disconnect(&receiver_1_arg, Sender::of<Object>()));
    EXPECT_TRUE(is_clean(a_signal));
}

// Django: DispatcherTests.test_unweakrefable_sender
TEST(DispatcherTests, test_unweakrefable_sender) {
    ValSignal a_signal;
    const Object sender;  // any object, not owned by a shared_ptr
    const Connection receiver =
        a_signal.connect(&receiver_1_arg, {.sender = Sender::object(&sender)});
    const auto result = a_signal.send(Sender::object(&sender), "test");
    ASSERT_EQ(result.size(), 1u);
    EXPECT_EQ(result[0].receiver, receiver);
    EXPECT_EQ(result[0].value, "test");
    EXPECT_TRUE(a_signal.disconnect(&receiver_1_arg, Sender::object(&sender)));
    EXPECT_TRUE(is_clean(a_signal));
}

// Django: DispatcherTests.test_garbage_collected_receiver
TEST(DispatcherTests, test_garbage_collected_receiver) {
    ValSignal a_signal;
    auto a = std::make_shared<Callable>();
    a_signal.connect(&Callable::a, a, {.sender = Sender::object(this)});
    a.reset();
    EXPECT_TRUE(a_signal.send(Sender::object(this), "test").empty());
    EXPECT_TRUE(is_clean(a_signal));
}

// Django: DispatcherTests.test_garbage_collected_sender (#35801). Django patches _make_id so two
// senders share an id; here the second sender is built at the first one's address, so the two
// Sender values are equal. The dead sender's receivers, tracked by it, must not reach the new one.
TEST(DispatcherTests, test_garbage_collected_sender) {
    struct SenderObject {
        int serial = 0;
    };
    alignas(SenderObject) unsigned char storage[sizeof(SenderObject)];
    auto make_sender = [&storage](int serial) {
        return std::shared_ptr<SenderObject>(::new (static_cast<void*>(storage))
                                                 SenderObject{serial},
                                             [](SenderObject* p) { p->~SenderObject(); });
    };
    ValSignal a_signal;
    Log received;
    auto first_receiver = [&received](const std::string& val) {
        received.add("first_receiver " + val);
        return val;
    };
    auto second_receiver = [&received](const std::string& val) {
        received.add("second_receiver " + val);
        return val;
    };

    auto sender1 = make_sender(1);
    const Sender id1 = Sender::object(sender1.get());
    a_signal.connect(first_receiver, {.sender = id1, .track = sender1});
    const auto first = a_signal.send(id1, "first");
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0].value, "first");

    sender1.reset();
    auto sender2 = make_sender(2);
    const Sender id2 = Sender::object(sender2.get());
    ASSERT_EQ(id1, id2) << "the simulated id collision did not happen";
    a_signal.connect(second_receiver, {.sender = id2, .track = sender2});
    const auto second = a_signal.send(id2, "second");
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(second[0].value, "second");
    EXPECT_EQ(received.entries(), (Strings{"first_receiver first", "second_receiver second"}));
    sender2.reset();
    EXPECT_TRUE(is_clean(a_signal));
}

// Django: DispatcherTests.test_cached_garbaged_collected. Django checks that its per-sender cache
// (d_signal, use_caching=True) does not keep a dead sender alive. A Sender holds no ownership;
// what a cache could still get wrong here is to go on reporting the dead sender's receivers.
TEST(DispatcherTests, test_cached_garbaged_collected) {
    ValSignal d_signal;
    auto sender = std::make_shared<Object>();
    const std::weak_ptr<Object> watch = sender;
    const Sender id = Sender::object(sender.get());
    d_signal.connect(&receiver_1_arg, {.sender = id, .track = sender});
    EXPECT_EQ(d_signal.send(id, "test").size(), 1u);
    EXPECT_TRUE(d_signal.has_listeners(id));
    sender.reset();
    EXPECT_TRUE(watch.expired());
    EXPECT_FALSE(d_signal.has_listeners(id));
    EXPECT_TRUE(d_signal.send(id, "test").empty());
    EXPECT_TRUE(is_clean(d_signal));
}

// Django: DispatcherTests.test_multiple_registration
TEST(DispatcherTests, test_multiple_registration) {
    ValSignal a_signal;
    auto a = std::make_shared<Callable>();
    for (int i = 0; i < 6; ++i) {
        a_signal.connect(&Callable::operator(), a);
    }
    const auto result = a_signal.send(Sender::object(this), "test");
    EXPECT_EQ(result.size(), 1u);
    EXPECT_EQ(a_signal.receiver_count(), 1u);
    EXPECT_EQ(a_signal.receivers().size(), 1u);
    a.reset();
    EXPECT_TRUE(is_clean(a_signal));
}

// Django: DispatcherTests.test_uid_registration
TEST(DispatcherTests, test_uid_registration) {
    ValSignal a_signal;
    auto uid_based_receiver_1 = [](const std::string& val) { return val; };
    auto uid_based_receiver_2 = [](const std::string& val) { return val; };
    a_signal.connect(uid_based_receiver_1, {.dispatch_uid = "uid"});
    a_signal.connect(uid_based_receiver_2, {.dispatch_uid = "uid"});
    EXPECT_EQ(a_signal.receiver_count(), 1u);
    EXPECT_EQ(a_signal.receivers().size(), 1u);
    EXPECT_TRUE(a_signal.disconnect("uid"));
    EXPECT_TRUE(is_clean(a_signal));
}

// Django: DispatcherTests.test_send_robust_success
TEST(DispatcherTests, test_send_robust_success) {
    ValSignal a_signal;
    const Connection receiver = a_signal.connect(&receiver_1_arg);
    const auto result = a_signal.send_robust(Sender::object(this), "test");
    ASSERT_EQ(result.size(), 1u);
    EXPECT_EQ(result[0].receiver, receiver);
    EXPECT_EQ(result[0].value, "test");
    EXPECT_FALSE(result[0].error);
    EXPECT_TRUE(a_signal.disconnect(&receiver_1_arg));
    EXPECT_TRUE(is_clean(a_signal));
}

// Django: DispatcherTests.test_send_robust_no_receivers
TEST(DispatcherTests, test_send_robust_no_receivers) {
    const ValSignal a_signal;
    EXPECT_TRUE(a_signal.send_robust(Sender::object(this), "test").empty());
}

// Django: DispatcherTests.test_send_robust_ignored_sender
TEST(DispatcherTests, test_send_robust_ignored_sender) {
    ValSignal a_signal;
    const Connection receiver = a_signal.connect(&receiver_1_arg);
    const auto result = a_signal.send_robust(Sender::object(this), "test");
    ASSERT_EQ(result.size(), 1u);
    EXPECT_EQ(result[0].receiver, receiver);
    EXPECT_EQ(result[0].value, "test");
    EXPECT_TRUE(a_signal.disconnect(&receiver_1_arg));
    EXPECT_TRUE(is_clean(a_signal));
}

// Django: DispatcherTests.test_send_robust_fail
TEST(DispatcherTests, test_send_robust_fail) {
    ErrorRecorder recorder;
    const ProcessErrorLogger guard(recorder.logger());
    ValSignal a_signal{"a_signal"};
    auto fails = [](const std::string&) -> std::string { throw std::invalid_argument("this"); };
    const Connection receiver = a_signal.connect(fails, {.name = "fails"});
    const auto result = a_signal.send_robust(Sender::object(this), "test");
    ASSERT_EQ(result.size(), 1u);
    EXPECT_EQ(result[0].receiver, receiver);
    EXPECT_FALSE(result[0].value.has_value());
    ASSERT_TRUE(result[0].error);
    EXPECT_THROW(std::rethrow_exception(result[0].error), std::invalid_argument);
    EXPECT_EQ(what_of(result[0].error), "this");
    const auto errors = recorder.errors();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].message, "Error calling fails in Signal.send_robust() (this)");
    EXPECT_EQ(errors[0].what, "this");
    EXPECT_EQ(errors[0].receiver, "fails");
    EXPECT_EQ(errors[0].signal, "a_signal");
    EXPECT_TRUE(a_signal.disconnect(receiver));
    EXPECT_TRUE(is_clean(a_signal));
}

// Django: DispatcherTests.test_disconnection
TEST(DispatcherTests, test_disconnection) {
    ValSignal a_signal;
    auto receiver_1 = std::make_shared<Callable>();
    auto receiver_2 = std::make_shared<Callable>();
    auto receiver_3 = std::make_shared<Callable>();
    a_signal.connect(&Callable::operator(), receiver_1);
    a_signal.connect(&Callable::operator(), receiver_2);
    a_signal.connect(&Callable::operator(), receiver_3);
    EXPECT_EQ(a_signal.receiver_count(), 3u);
    EXPECT_TRUE(a_signal.disconnect(&Callable::operator(), receiver_1));
    receiver_2.reset();
    EXPECT_TRUE(a_signal.disconnect(&Callable::operator(), receiver_3));
    EXPECT_TRUE(is_clean(a_signal));
}

// Django: DispatcherTests.test_values_returned_by_disconnection
TEST(DispatcherTests, test_values_returned_by_disconnection) {
    ValSignal a_signal;
    auto receiver_1 = std::make_shared<Callable>();
    auto receiver_2 = std::make_shared<Callable>();
    a_signal.connect(&Callable::operator(), receiver_1);
    EXPECT_TRUE(a_signal.disconnect(&Callable::operator(), receiver_1));
    EXPECT_FALSE(a_signal.disconnect(&Callable::operator(), receiver_2));
    EXPECT_TRUE(is_clean(a_signal));
}

// Django: DispatcherTests.test_has_listeners
TEST(DispatcherTests, test_has_listeners) {
    ValSignal a_signal;
    const Object sender;
    EXPECT_FALSE(a_signal.has_listeners());
    EXPECT_FALSE(a_signal.has_listeners(Sender::object(&sender)));
    auto receiver_1 = std::make_shared<Callable>();
    a_signal.connect(&Callable::operator(), receiver_1);
    EXPECT_TRUE(a_signal.has_listeners());
    EXPECT_TRUE(a_signal.has_listeners(Sender::object(&sender)));
    EXPECT_TRUE(a_signal.disconnect(&Callable::operator(), receiver_1));
    EXPECT_FALSE(a_signal.has_listeners());
    EXPECT_FALSE(a_signal.has_listeners(Sender::object(&sender)));
}

// ------------------------------------------------------------------ ReceiverTestCase
// Django's @receiver(signal_or_list) decorator is connect() on each signal; it leaves the
// function unchanged, and so does connect().

// Django: ReceiverTestCase.test_receiver_single_signal
TEST(ReceiverTestCase, test_receiver_single_signal) {
    Signal<void(bool val)> a_signal;
    bool state = false;
    a_signal.connect([&state](bool val) { state = val; });
    a_signal.send({}, true);
    EXPECT_TRUE(state);
}

// Django: ReceiverTestCase.test_receiver_signal_list
TEST(ReceiverTestCase, test_receiver_signal_list) {
    Signal<void(const std::string& val)> a_signal;
    Signal<void(const std::string& val)> b_signal;
    Signal<void(const std::string& val)> c_signal;
    Strings state;
    auto f = [&state](const std::string& val) { state.push_back(val); };
    for (auto* signal : {&a_signal, &b_signal, &c_signal}) {
        signal->connect(f);
    }
    a_signal.send(Sender::object(this), "a");
    c_signal.send(Sender::object(this), "c");
    b_signal.send(Sender::object(this), "b");
    EXPECT_EQ(state, (Strings{"a", "c", "b"}));
}

}  // namespace django_dispatch_test
}  // namespace
