// A representative user translation unit of the model layer, compiled by bench/compile_time.sh:
// issue 11's "3 models and their receivers" — three models of one app declared in the file (no
// TOCSIN_EXTERN_MODEL: the file compiles what a newcomer's file compiles), receivers of the model
// signals (post_save, pre_save, post_delete), a signal of the application, and the queries the
// receivers make. It uses only API that existed when issue 11 was filed (6bab214), so
// `bench/compile_time.sh --against <that tree>` compiles the same file against both headers.
#include <tocsin/models.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace blog {

/// Someone who writes.
struct Author : tocsin::Model<Author> {
    static constexpr std::string_view label = "blog.Author";
    std::string username;
    std::string email;
    bool is_active = true;

    static auto fields() {
        return tocsin::fields(tocsin::field("username", &Author::username, {.unique = true}),
                              tocsin::field("email", &Author::email),
                              tocsin::field("is_active", &Author::is_active));
    }
};

/// What an author tells about themselves; one per author, removed with the author.
struct Profile : tocsin::Model<Profile> {
    static constexpr std::string_view label = "blog.Profile";
    tocsin::OneToOne<Author> author{tocsin::on_delete::cascade};
    std::string bio;
    std::int64_t posts = 0;

    static auto fields() {
        return tocsin::fields(tocsin::field("author", &Profile::author),
                              tocsin::field("bio", &Profile::bio),
                              tocsin::field("posts", &Profile::posts));
    }
};

/// A post of an author; its slug is made from its title before it is saved.
struct Post : tocsin::Model<Post> {
    static constexpr std::string_view label = "blog.Post";
    tocsin::ForeignKey<Author> author{tocsin::on_delete::cascade};
    std::string title;
    std::string slug;
    bool published = false;

    static auto fields() {
        return tocsin::fields(
            tocsin::field("author", &Post::author), tocsin::field("title", &Post::title),
            tocsin::field("slug", &Post::slug), tocsin::field("published", &Post::published));
    }
};

/// Sent when a post is published.
tocsin::Signal<void(const Post&)> post_published{"blog.post_published"};

namespace {

// post_save(sender=Author): the profile of a new author.
void create_profile(Author& author, const tocsin::SaveEvent& event) {
    if (event.created && !event.raw) {
        Profile::objects().get_or_create({.author = author});
    }
}

// pre_save(sender=Post): the slug from the title.
void make_slug(Post& post, const tocsin::SaveEvent& /*event*/) {
    std::string slug;
    for (char c : post.title) {
        slug += (c == ' ') ? '-' : c;
    }
    post.slug = slug;
}

// post_save(sender=Post): count the author's published posts; tell who listens.
void count_posts(Post& post, const tocsin::SaveEvent& /*event*/) {
    if (!post.published) {
        return;
    }
    auto profiles =
        Profile::objects().filter(tocsin::where(&Profile::author) == post.author.id().value_or(0));
    if (profiles.exists()) {
        Profile profile = profiles.get();
        profile.posts = Post::objects()
                            .filter(tocsin::where(&Post::author) == post.author.id().value_or(0))
                            .filter(tocsin::where(&Post::published) == true)
                            .count();
        profile.save();
    }
    post_published.send(tocsin::Sender::of<Post>(), post);
}

// post_delete(sender=Author): deactivate nothing, but log who went (seed 003's admin notice).
int removed_authors = 0;
void notify_admin(Author& /*author*/, const tocsin::DeleteEvent& /*event*/) {
    ++removed_authors;
}

}  // namespace

/// Connects the app's receivers once (an AppConfig.ready()).
void connect_receivers();
void connect_receivers() {
    tocsin::post_save.connect<Author>(create_profile, {.dispatch_uid = "blog.create_profile"});
    tocsin::pre_save.connect<Post>(make_slug, {.dispatch_uid = "blog.make_slug"});
    tocsin::post_save.connect<Post>(count_posts, {.dispatch_uid = "blog.count_posts"});
    tocsin::post_delete.connect<Author>(notify_admin, {.dispatch_uid = "blog.notify_admin"});
}

}  // namespace blog
